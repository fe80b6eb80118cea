package io.llmlimiter.okhttp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.client.Accounting;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.RetrySettings;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** OkHttp with the interceptor against the mock provider over HTTP. */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlmLimiterInterceptorTest {

    private static final MediaType JSON = MediaType.get("application/json");

    private LlmLimiter limiter;
    private MockProvider provider;
    private OkHttpClient http;

    @BeforeAll
    void start(RedisProcess redis) {
        limiter = LlmLimiter.builder().redis(redis.uri()).build();
        provider = MockProvider.start(MockProviderConfig.builder().requests(1000, Duration.ofSeconds(1))
                .noTokenLimit().completionTokens(20).maxOutputTokens(4096).build());
        http = new OkHttpClient.Builder().addInterceptor(LlmLimiterInterceptor.of(limiter)).build();
    }

    @AfterAll
    void stop() {
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

    private Request chat(String model, long maxTokens) {
        String body = "{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"Say something short.\"}]}";
        return new Request.Builder().url(provider.baseUrl() + "/v1/chat/completions")
                .post(RequestBody.create(body, JSON)).build();
    }

    private Map<String, Long> stats(Target t) {
        return limiter.admin().stats(t);
    }

    @Test
    void aChatRequestSucceedsUnderItsTargetAndRecordsItsUsage() throws Exception {
        Target t = target("gpt-4o-ok", 2);

        try (Response r = http.newCall(chat("gpt-4o-ok", 100)).execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).contains("\"completion_tokens\":20");
        }

        await().atMost(Duration.ofSeconds(5)).until(() -> stats(t).getOrDefault("completed", 0L) == 1);
        assertThat(stats(t)).containsEntry("admitted", 1L).containsEntry("actual_output_tokens", 20L);
        assertThat(provider.totalCalls()).isEqualTo(1);
    }

    @Test
    void a429WithRetryAfterIsRetriedByTheInterceptorAfterTheWaitItNames() throws Exception {
        Target t = target("gpt-4o-429", 3);
        provider.failNext(429, 1);

        long start = System.nanoTime();
        try (Response r = http.newCall(chat("gpt-4o-429", 100)).execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(stats(t)).containsEntry("admitted", 2L).containsEntry("retries", 1L).containsEntry("provider_429", 1L);
        assertThat(tookMillis).as("Retry-After: 1 was honoured").isGreaterThanOrEqualTo(1000);
    }

    @Test
    void whenTheLimiterGivesUpTheCallerGetsTheProvidersLastResponse() throws Exception {
        Target t = target("gpt-4o-giveup", 1);
        provider.failNext(429, 5);

        try (Response r = http.newCall(chat("gpt-4o-giveup", 100)).execute()) {
            assertThat(r.code()).isEqualTo(429);
            assertThat(r.header("Retry-After")).isEqualTo("1");
            assertThat(r.body().string()).contains("rate_limit_exceeded");
        }
        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(stats(t)).containsEntry("admitted", 2L);
    }

    @Test
    void a400IsAnsweredAtOnce() throws Exception {
        Target t = target("gpt-4o-400", 3);

        try (Response r = http.newCall(chat("gpt-4o-400", 100_000)).execute()) {
            assertThat(r.code()).isEqualTo(400);
            assertThat(r.body().string()).contains("max_tokens");
        }
        assertThat(provider.totalCalls()).isEqualTo(1);
        assertThat(stats(t)).containsEntry("admitted", 1L).doesNotContainKey("retries");
    }

    @Test
    void anAnthropicStreamHoldsItsPermitUntilItsBodyEndsAndRecordsItsUsage() throws Exception {
        Target t = target("claude-stream", 2);
        String body = "{\"model\":\"claude-stream\",\"max_tokens\":100,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Say something short.\"}]}";
        Request request = new Request.Builder().url(provider.baseUrl() + "/v1/messages")
                .post(RequestBody.create(body, JSON)).build();

        String events;
        try (Response r = http.newCall(request).execute()) {
            assertThat(r.header("Content-Type")).startsWith("text/event-stream");
            assertThat(limiter.admin().usage(t).inFlight()).as("the stream is open: its permit is held").isEqualTo(1);
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body().byteStream(),
                    StandardCharsets.UTF_8))) {
                events = reader.lines().collect(Collectors.joining("\n"));
            }
        }

        assertThat(events).contains("event: message_stop");
        await().atMost(Duration.ofSeconds(5)).until(() -> stats(t).getOrDefault("completed", 0L) == 1);
        assertThat(stats(t)).containsEntry("actual_output_tokens", 20L);
        assertThat(limiter.admin().usage(t).inFlight()).isZero();
    }

    @Test
    void anEnqueuedCallIsRetriedOnTheDispatcherThread() throws Exception {
        Target t = target("gpt-4o-enqueue", 3);
        provider.failNext(503, 1);
        java.util.concurrent.CompletableFuture<Integer> code = new java.util.concurrent.CompletableFuture<>();

        http.newCall(chat("gpt-4o-enqueue", 100)).enqueue(new okhttp3.Callback() {
            @Override
            public void onFailure(okhttp3.Call call, java.io.IOException e) {
                code.completeExceptionally(e);
            }

            @Override
            public void onResponse(okhttp3.Call call, Response response) {
                try (response) {
                    code.complete(response.code());
                }
            }
        });

        assertThat(code.get(30, TimeUnit.SECONDS)).isEqualTo(200);
        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(stats(t)).containsEntry("admitted", 2L).containsEntry("retries", 1L);
    }

    @Test
    void requestsThatAreNoChatRequestPassThroughUnbudgeted() throws Exception {
        Request list = new Request.Builder().url(provider.baseUrl() + "/v1/models").build();
        try (Response r = http.newCall(list).execute()) {
            assertThat(r.code()).isEqualTo(404);
        }
        assertThat(provider.requestsReceived()).isEqualTo(1);
        assertThat(limiter.admin().targets()).noneMatch(t -> t.model().equals("models"));
    }

    @Test
    void aMappingFunctionNamesTheTarget() throws Exception {
        Target mine = Target.parse("gateway/team-a-gpt-4o");
        limiter.admin().putConfig(LimitConfig.builder(mine).limits("requests=100/1s").build());
        OkHttpClient mapped = new OkHttpClient.Builder().addInterceptor(LlmLimiterInterceptor.builder(limiter)
                .targets((url, model) -> Targets.of("gateway", "team-a-" + model)).build()).build();

        try (Response r = mapped.newCall(chat("gpt-4o", 100)).execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
        assertThat(stats(mine)).containsEntry("admitted", 1L);
    }
}
