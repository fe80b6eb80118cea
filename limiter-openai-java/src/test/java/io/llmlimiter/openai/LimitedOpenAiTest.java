package io.llmlimiter.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.client.OpenAIClientAsync;
import com.openai.core.ClientOptions;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
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

/** The real OpenAI SDK against the mock provider over HTTP, every attempt under the limiter. */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LimitedOpenAiTest {

    private LlmLimiter limiter;
    private MockProvider provider;
    private OpenAIClient client;

    @BeforeAll
    void start(RedisProcess redis) {
        limiter = LlmLimiter.builder().redis(redis.uri()).build();
        provider = MockProvider.start(MockProviderConfig.builder().requests(1000, Duration.ofSeconds(1))
                .noTokenLimit().completionTokens(20).maxOutputTokens(4096).build());
        client = LimitedOpenAi.client(limiter, ClientOptions.builder().apiKey("test-key").baseUrl(baseUrl()));
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

    private String baseUrl() {
        return provider.baseUrl() + "/v1";
    }

    private Target target(String model, int maxRetries) {
        Target t = Targets.forEndpoint(URI.create(baseUrl()), model);
        // A concurrency cap, so a permit holds a lease the tests can see in flight.
        limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1s").maxConcurrent(8)
                .accounting(Accounting.ACTUAL)
                .retry(new RetrySettings(maxRetries, Duration.ofMillis(10), Duration.ofSeconds(5), Duration.ofSeconds(30)))
                .build());
        return t;
    }

    private static ChatCompletionCreateParams params(String model, long maxTokens) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage("Say something short.")
                .maxCompletionTokens(maxTokens).build();
    }

    private Map<String, Long> stats(Target t) {
        return limiter.admin().stats(t);
    }

    @Test
    void aCallSucceedsUnderItsTargetAndRecordsTheUsageTheProviderReported() {
        Target t = target("gpt-4o-ok", 2);

        ChatCompletion answer = client.chat().completions().create(params("gpt-4o-ok", 100));

        assertThat(t.toString()).isEqualTo("127.0.0.1:" + provider.port() + "/gpt-4o-ok");
        assertThat(answer.usage().orElseThrow().completionTokens()).isEqualTo(20);
        long prompt = answer.usage().orElseThrow().promptTokens();
        await().atMost(Duration.ofSeconds(5)).until(() -> stats(t).getOrDefault("completed", 0L) == 1);
        assertThat(stats(t)).containsEntry("admitted", 1L).containsEntry("actual_output_tokens", 20L)
                .containsEntry("actual_input_tokens", prompt);
        assertThat(provider.totalCalls()).isEqualTo(1);
        // Accounting is actual: the window holds what the provider reported, not the estimate.
        assertThat(limiter.admin().usage(t).inFlight()).isZero();
    }

    @Test
    void a429WithRetryAfterIsRetriedByTheLimiterAloneAfterTheWaitItNames() {
        Target t = target("gpt-4o-429", 3);
        provider.failNext(429, 1);

        long start = System.nanoTime();
        ChatCompletion answer = client.chat().completions().create(params("gpt-4o-429", 100));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(answer.choices()).isNotEmpty();
        // The provider saw exactly the attempts the limiter admitted: the SDK retried nothing itself.
        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(stats(t)).containsEntry("admitted", 2L).containsEntry("retries", 1L).containsEntry("provider_429", 1L);
        assertThat(tookMillis).as("Retry-After: 1 was honoured").isGreaterThanOrEqualTo(1000);
    }

    @Test
    void whenTheLimiterGivesUpTheSdkRaisesItsOwnRateLimitException() {
        Target t = target("gpt-4o-giveup", 1);
        provider.failNext(429, 5);

        assertThatThrownBy(() -> client.chat().completions().create(params("gpt-4o-giveup", 100)))
                .isInstanceOf(RateLimitException.class);

        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(stats(t)).containsEntry("admitted", 2L);
    }

    @Test
    void a400FailsAtOnce() {
        Target t = target("gpt-4o-400", 3);

        assertThatThrownBy(() -> client.chat().completions().create(params("gpt-4o-400", 100_000)))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("max_tokens");

        assertThat(provider.totalCalls()).isEqualTo(1);
        assertThat(stats(t)).containsEntry("admitted", 1L).doesNotContainKey("retries");
    }

    @Test
    void aStreamHoldsItsPermitUntilItEndsAndRecordsTheUsageOfItsLastChunk() {
        Target t = target("gpt-4o-stream", 2);
        ChatCompletionCreateParams params = params("gpt-4o-stream", 100).toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();

        String text;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            assertThat(limiter.admin().usage(t).inFlight()).as("the stream is open: its permit is held").isEqualTo(1);
            text = stream.stream().flatMap(c -> c.choices().stream())
                    .map(c -> c.delta().content().orElse("")).collect(Collectors.joining());
        }

        assertThat(text).startsWith("mock answer");
        await().atMost(Duration.ofSeconds(5)).until(() -> stats(t).getOrDefault("completed", 0L) == 1);
        assertThat(stats(t)).containsEntry("actual_output_tokens", 20L);
        assertThat(limiter.admin().usage(t).inFlight()).isZero();
    }

    @Test
    void theAsyncClientRetriesUnderTheLimiterToo() throws Exception {
        Target t = target("gpt-4o-async", 3);
        provider.failNext(503, 1);
        OpenAIClientAsync async = LimitedOpenAi.clientAsync(limiter,
                ClientOptions.builder().apiKey("test-key").baseUrl(baseUrl()));
        try {
            ChatCompletion answer = async.chat().completions().create(params("gpt-4o-async", 50)).get(30, TimeUnit.SECONDS);
            assertThat(answer.usage().orElseThrow().completionTokens()).isEqualTo(20);
        } finally {
            async.close();
        }
        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(stats(t)).containsEntry("admitted", 2L).containsEntry("retries", 1L);
    }

    @Test
    void theProvidersRateLimitHeadersOnTheRawResponseReachTheFleet() {
        try (MockProvider strict = MockProvider.start(MockProviderConfig.builder().requests(2, Duration.ofSeconds(60))
                .noTokenLimit().completionTokens(5).build())) {
            String url = strict.baseUrl() + "/v1";
            Target t = Targets.forEndpoint(URI.create(url), "gpt-4o-headers");
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1s").build());
            OpenAIClient c = LimitedOpenAi.client(limiter, ClientOptions.builder().apiKey("test-key").baseUrl(url));

            c.chat().completions().create(params("gpt-4o-headers", 10));

            // x-ratelimit-remaining-requests: 1 of 2: the fleet holds back until the provider's reset.
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
    void requestsThatNameNoModelPassThroughUnbudgeted() {
        // Listing models is no model call: it reaches the provider (here a 404) without a permit.
        assertThatThrownBy(() -> client.models().list()).isInstanceOf(com.openai.errors.NotFoundException.class);
        assertThat(provider.requestsReceived()).isEqualTo(1);
    }
}
