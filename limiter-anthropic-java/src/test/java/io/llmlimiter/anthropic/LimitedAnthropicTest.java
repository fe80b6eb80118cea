package io.llmlimiter.anthropic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.AnthropicClientAsync;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClientAsync;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.BadRequestException;
import com.anthropic.errors.RateLimitException;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import io.llmlimiter.client.Accounting;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.RetrySettings;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The real Anthropic SDK against the mock provider over HTTP, every attempt under the limiter. */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LimitedAnthropicTest {

    private LlmLimiter limiter;
    private MockProvider provider;
    private AnthropicClient client;

    @BeforeAll
    void start(RedisProcess redis) {
        limiter = LlmLimiter.builder().redis(redis.uri()).build();
        provider = MockProvider.start(MockProviderConfig.builder().requests(1000, Duration.ofSeconds(1))
                .noTokenLimit().completionTokens(20).maxOutputTokens(4096).build());
        client = LimitedAnthropic.client(limiter,
                AnthropicOkHttpClient.builder().apiKey("test-key").baseUrl(provider.baseUrl()).build());
    }

    @AfterAll
    void stop() {
        client.close();
        provider.close();
        limiter.close();
    }

    @BeforeEach
    void reset() {
        provider.clearFaults();
        provider.resetCounters();
    }

    private Target target(String model, int maxRetries) {
        Target t = Targets.forEndpoint(URI.create(provider.baseUrl()), model);
        // A concurrency cap, so a permit holds a lease the tests can see in flight.
        limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1s").maxConcurrent(8)
                .accounting(Accounting.ACTUAL)
                .retry(new RetrySettings(maxRetries, Duration.ofMillis(10), Duration.ofSeconds(5), Duration.ofSeconds(30)))
                .build());
        return t;
    }

    private static MessageCreateParams params(String model, long maxTokens) {
        return MessageCreateParams.builder().model(model).maxTokens(maxTokens).addUserMessage("Say something short.")
                .build();
    }

    private Map<String, Long> stats(Target t) {
        return limiter.admin().stats(t);
    }

    @Test
    void aCallSucceedsUnderItsTargetAndRecordsTheUsageTheProviderReported() {
        Target t = target("claude-ok", 2);

        Message answer = client.messages().create(params("claude-ok", 100));

        assertThat(answer.usage().outputTokens()).isEqualTo(20);
        long input = answer.usage().inputTokens();
        await().atMost(Duration.ofSeconds(5)).until(() -> stats(t).getOrDefault("completed", 0L) == 1);
        assertThat(stats(t)).containsEntry("admitted", 1L).containsEntry("actual_output_tokens", 20L)
                .containsEntry("actual_input_tokens", input);
        assertThat(provider.totalCalls()).isEqualTo(1);
    }

    @Test
    void a429WithRetryAfterIsRetriedByTheLimiterAloneAfterTheWaitItNames() {
        Target t = target("claude-429", 3);
        provider.failNext(429, 1);

        long start = System.nanoTime();
        Message answer = client.messages().create(params("claude-429", 100));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(answer.content()).isNotEmpty();
        // The provider saw exactly the attempts the limiter admitted: the SDK retried nothing itself.
        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(stats(t)).containsEntry("admitted", 2L).containsEntry("retries", 1L).containsEntry("provider_429", 1L);
        assertThat(tookMillis).as("Retry-After: 1 was honoured").isGreaterThanOrEqualTo(1000);
    }

    @Test
    void whenTheLimiterGivesUpTheSdkRaisesItsOwnRateLimitException() {
        Target t = target("claude-giveup", 1);
        provider.failNext(429, 5);

        assertThatThrownBy(() -> client.messages().create(params("claude-giveup", 100)))
                .isInstanceOf(RateLimitException.class);

        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(stats(t)).containsEntry("admitted", 2L);
    }

    @Test
    void a400FailsAtOnce() {
        Target t = target("claude-400", 3);

        assertThatThrownBy(() -> client.messages().create(params("claude-400", 100_000)))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("max_tokens");

        assertThat(provider.totalCalls()).isEqualTo(1);
        assertThat(stats(t)).containsEntry("admitted", 1L).doesNotContainKey("retries");
    }

    @Test
    void aStreamHoldsItsPermitUntilItEndsAndRecordsTheUsageOfItsLastMessageDelta() {
        Target t = target("claude-stream", 2);

        String text;
        try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(params("claude-stream", 100))) {
            assertThat(limiter.admin().usage(t).inFlight()).as("the stream is open: its permit is held").isEqualTo(1);
            text = stream.stream().flatMap(e -> e.contentBlockDelta().stream())
                    .flatMap(d -> d.delta().text().stream()).map(d -> d.text()).collect(Collectors.joining());
        }

        assertThat(text).startsWith("mock answer");
        await().atMost(Duration.ofSeconds(5)).until(() -> stats(t).getOrDefault("completed", 0L) == 1);
        assertThat(stats(t)).containsEntry("actual_output_tokens", 20L).containsKey("actual_input_tokens");
        assertThat(limiter.admin().usage(t).inFlight()).isZero();
    }

    @Test
    void theProvidersRateLimitHeadersOnTheRawResponseReachTheFleet() {
        try (MockProvider strict = MockProvider.start(MockProviderConfig.builder().requests(2, Duration.ofSeconds(60))
                .noTokenLimit().completionTokens(5).build())) {
            Target t = Targets.forEndpoint(URI.create(strict.baseUrl()), "claude-headers");
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1s").build());
            AnthropicClient c = LimitedAnthropic.client(limiter,
                    AnthropicOkHttpClient.builder().apiKey("test-key").baseUrl(strict.baseUrl()).build());

            c.messages().create(params("claude-headers", 10));

            // anthropic-ratelimit-requests-remaining: 1 of 2: the fleet holds back until the provider's reset.
            await().atMost(Duration.ofSeconds(5)).until(() -> limiter.tryAcquire(t, Estimate.requestOnly())
                    .map(p -> {
                        p.close();
                        return false;
                    }).orElse(true));
            assertThat(stats(t)).containsKey("refused_provider");
            c.close();
        }
    }

    @Test
    void theAsyncClientRetriesAnOverloadedAnswerUnderTheLimiterToo() throws Exception {
        Target t = target("claude-async", 3);
        provider.failNext(529, 1);
        AnthropicClientAsync async = LimitedAnthropic.clientAsync(limiter,
                AnthropicOkHttpClientAsync.builder().apiKey("test-key").baseUrl(provider.baseUrl()).build());
        try {
            Message answer = async.messages().create(params("claude-async", 50)).get(30, TimeUnit.SECONDS);
            assertThat(answer.usage().outputTokens()).isEqualTo(20);
        } finally {
            async.close();
        }
        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(stats(t)).containsEntry("admitted", 2L).containsEntry("retries", 1L);
    }
}
