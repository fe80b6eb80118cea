package io.llmlimiter.spring;

import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.RedisProcess;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.core.env.Environment;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A Spring Boot application with the starter and Spring AI's OpenAI model, pointed at the mock
 * provider over HTTP: the model bean is under the budget and the limiter alone retries.
 */
@SpringBootTest(classes = SpringAiAppTest.App.class, properties = {
        "spring.ai.openai.api-key=test-key",
        "spring.ai.openai.chat.options.model=gpt-4o-mini",
        "spring.ai.openai.chat.options.max-tokens=40",
        "spring.ai.openai.chat.options.stream-options.include-usage=true",
        // What an application might have set: the starter turns it off while the limiter runs.
        "spring.ai.openai.max-retries=3",
})
class SpringAiAppTest {

    private static final RedisProcess REDIS = RedisProcess.start();
    private static final MockProvider PROVIDER = MockProvider.start(MockProviderConfig.builder()
            .requests(20, Duration.ofSeconds(2)).tokens(100_000, Duration.ofSeconds(2)).maxOutputTokens(1000).build());
    private static final Target TARGET = Targets.forEndpoint(URI.create(PROVIDER.baseUrl()), "gpt-4o-mini");

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("spring.ai.openai.base-url", () -> PROVIDER.baseUrl() + "/v1");
        registry.add("llmlimiter.redis", REDIS::uri);
        registry.add("llmlimiter.targets[0].name", TARGET::toString);
        registry.add("llmlimiter.targets[0].limits", () -> "requests=20/2s,tokens=100000/2s");
    }

    @AfterAll
    static void stop() {
        PROVIDER.close();
        REDIS.close();
    }

    @Autowired
    ChatModel chatModel;
    @Autowired
    ChatClient.Builder chatClients;
    @Autowired
    LlmLimiter limiter;
    @Autowired
    MeterRegistry meters;
    @Autowired
    Environment environment;
    @Autowired
    Map<String, HealthIndicator> healthIndicators;

    private long calls;
    private Map<String, Long> before;

    @BeforeEach
    void mark() {
        PROVIDER.clearFaults();
        calls = PROVIDER.totalCalls();
        before = stats();
    }

    private Map<String, Long> stats() {
        return limiter.admin().stats(TARGET);
    }

    private long grew(String counter) {
        return stats().getOrDefault(counter, 0L) - before.getOrDefault(counter, 0L);
    }

    @Test
    void theChatModelBeanIsWrappedAndSpringAisOwnRetriesAreOff() {
        assertThat(chatModel).isInstanceOf(LimitedChatModel.class);
        assertThat(((LimitedChatModel) chatModel).delegate()).isInstanceOf(OpenAiChatModel.class);
        assertThat(environment.getProperty("spring.ai.openai.max-retries")).isEqualTo("0");
        assertThat(environment.getProperty("spring.ai.retry.max-attempts")).isEqualTo("0");
    }

    @Test
    void aChatClientCallSucceedsAndItsUsageIsRecorded() {
        ChatResponse response = chatClients.build().prompt("Say hello to the rate limiter.").call().chatResponse();

        assertThat(response.getResult().getOutput().getText()).startsWith("mock answer");
        assertThat(PROVIDER.totalCalls() - calls).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(grew("admitted")).isEqualTo(1);
            assertThat(grew("completed")).isEqualTo(1);
            assertThat(grew("actual_output_tokens")).isEqualTo(24); // 60% of max-tokens 40
            assertThat(grew("actual_input_tokens")).isEqualTo((long) response.getMetadata().getUsage().getPromptTokens());
        });
        assertThat(meters.find("llmlimiter.client.admitted").counters()).isNotEmpty();
    }

    @Test
    void aRateLimitIsRetriedByTheLimiterAloneAndTheProviderSeesExactlyTheAttemptsCounted() {
        PROVIDER.failNext(429, 1);

        String answer = chatModel.call("hello");

        assertThat(answer).startsWith("mock answer");
        assertThat(PROVIDER.totalCalls() - calls).isEqualTo(2);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(grew("admitted")).isEqualTo(2);
            assertThat(grew("provider_429")).isEqualTo(1);
            assertThat(grew("completed")).isEqualTo(2);
        });
    }

    @Test
    void aBadRequestFailsAtOnce() {
        assertThatThrownBy(() -> chatModel.call(new Prompt("hello",
                org.springframework.ai.openai.OpenAiChatOptions.builder().model("gpt-4o-mini").maxTokens(5000).build())))
                .isInstanceOf(RuntimeException.class)
                .satisfies(e -> assertThat(e.getSuppressed())
                        .hasAtLeastOneElementOfType(io.llmlimiter.client.CallFailedException.class));
        assertThat(PROVIDER.totalCalls() - calls).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(grew("admitted")).isEqualTo(1));
    }

    @Test
    void aStreamIsOneAdmissionCompletedWithTheStreamsUsage() {
        PROVIDER.failNext(429, 1);

        List<String> pieces = chatClients.build().prompt("Stream to me.").stream().content().collectList()
                .block(Duration.ofSeconds(30));

        assertThat(String.join("", pieces)).startsWith("mock answer");
        assertThat(PROVIDER.totalCalls() - calls).isEqualTo(2);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(grew("admitted")).isEqualTo(2);
            assertThat(grew("completed")).isEqualTo(2);
            assertThat(grew("actual_output_tokens")).isEqualTo(24);
        });
    }

    @Test
    void theHealthIndicatorReportsRedisReachable() {
        assertThat(healthIndicators).containsKey("llmlimiterHealthIndicator");
        assertThat(healthIndicators.get("llmlimiterHealthIndicator").health().getStatus()).isEqualTo(Status.UP);
    }
}
