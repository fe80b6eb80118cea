package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.client.retry.FailureKind;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** {@code execute} against a local HTTP provider that answers with each kind of failure. */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExecuteTest {

    private static final String QUOTA = "{\"error\":{\"message\":\"You exceeded your current quota\","
            + "\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}";
    private static final String RATE = "{\"error\":{\"message\":\"Rate limit reached\",\"code\":\"rate_limit_exceeded\"}}";

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final AtomicInteger seq = new AtomicInteger();
    private LlmLimiter limiter;
    private StubProvider provider;

    @BeforeAll
    void connect(RedisProcess redis) {
        limiter = LlmLimiter.builder().redis(redis.uri()).meterRegistry(meters).build();
    }

    @AfterAll
    void close() {
        limiter.close();
    }

    @BeforeEach
    void startProvider() throws Exception {
        provider = new StubProvider();
    }

    @AfterEach
    void stopProvider() {
        provider.close();
    }

    private Target target(String limits, Accounting accounting, int maxRetries, double baseDelaySeconds) {
        Target t = new Target("openai", "stub" + seq.incrementAndGet());
        Duration base = Duration.ofMillis((long) (baseDelaySeconds * 1000));
        limiter.admin().putConfig(LimitConfig.builder(t).limits(limits).accounting(accounting)
                .retry(new RetrySettings(maxRetries, base, Duration.ofSeconds(5), Duration.ofSeconds(30))).build());
        return t;
    }

    @Test
    void aStreamedResponseHoldsItsPermitUntilTheStreamEndsAndThenRecordsWhatItReported() {
        Target t = new Target("openai", "stream" + seq.incrementAndGet());
        limiter.admin().putConfig(LimitConfig.builder(t).limits("tokens=10000/60s").maxConcurrent(2)
                .accounting(Accounting.ACTUAL).build());
        CompletableFuture<StreamCompletion> handle = new CompletableFuture<>();

        String first = limiter.execute(t, Estimate.of(100, 900), ctx -> {
            handle.complete(ctx.deferCompletion());
            return "stream opened";
        });

        assertThat(first).isEqualTo("stream opened");
        // The call returned, the stream runs on: the permit is still held, the whole estimate charged.
        assertThat(limiter.admin().usage(t).inFlight()).isEqualTo(1);
        assertThat(limiter.admin().usage(t).windows().get(0).used()).isEqualTo(1000);
        handle.join().complete(Usage.of(100, 40));
        handle.join().complete(Usage.of(100, 900));
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(limiter.admin().usage(t).inFlight()).isZero();
            assertThat(limiter.admin().usage(t).windows().get(0).used()).isEqualTo(140);
        });

        // A stream that breaks off releases its permit and keeps the admission charge.
        limiter.execute(t, Estimate.of(100, 900), ctx -> {
            handle.obtrudeValue(ctx.deferCompletion());
            return "second";
        });
        assertThat(limiter.admin().usage(t).inFlight()).isEqualTo(1);
        handle.join().fail(new java.io.IOException("connection reset"));
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(limiter.admin().usage(t).inFlight()).isZero();
            assertThat(limiter.admin().usage(t).windows().get(0).used()).isEqualTo(1140);
        });
    }

    @Test
    void aFailedAttemptThatDeferredItsCompletionIsReleasedAsAnyFailure() {
        Target t = target("requests=100/1s", Accounting.KEEP, 1, 0.01);
        AtomicInteger calls = new AtomicInteger();
        CompletableFuture<StreamCompletion> handle = new CompletableFuture<>();

        String body = limiter.execute(t, Estimate.of(10, 10), ctx -> {
            StreamCompletion c = ctx.deferCompletion();
            if (calls.incrementAndGet() == 1) {
                handle.complete(c);
                throw new io.llmlimiter.client.retry.HttpStatusException(503);
            }
            c.complete(null);
            return "ok";
        });

        assertThat(body).isEqualTo("ok");
        handle.join().complete(Usage.of(5, 5));
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(limiter.admin().usage(t).inFlight()).isZero());
        assertThat(limiter.admin().stats(t)).containsEntry("admitted", 2L);
    }

    @Test
    void serverErrorsAreRetriedUntilTheCallSucceeds() {
        Target t = target("requests=100/1s", Accounting.KEEP, 3, 0.01);
        provider.then(503, Map.of(), "busy").then(502, Map.of(), "bad gateway");

        String body = limiter.execute(t, Estimate.of(120, 100), provider::chat);

        assertThat(body).contains("chat.completion");
        assertThat(provider.calls()).isEqualTo(3);
        assertThat(limiter.admin().stats(t)).containsEntry("retries", 2L).containsEntry("admitted", 3L)
                .containsEntry("completed", 3L);
        assertThat(meters.counter("llmlimiter.client.retries", "target", t.toString(), "reason", "server_error").count())
                .isEqualTo(2);
    }

    @Test
    void anthropicOverloadedIsRetried() {
        Target t = target("requests=100/1s", Accounting.KEEP, 2, 0.01);
        provider.then(529, Map.of(), "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
        limiter.execute(t, Estimate.requestOnly(), provider::chat);
        assertThat(provider.calls()).isEqualTo(2);
    }

    @Test
    void badRequestsAndExhaustedQuotaFailAtOnceWithTheProvidersMessage() {
        Target t = target("requests=100/1s", Accounting.KEEP, 3, 0.01);
        provider.then(400, Map.of(), "{\"error\":{\"message\":\"Invalid 'messages': empty\"}}");
        assertThatThrownBy(() -> limiter.execute(t, Estimate.requestOnly(), provider::chat))
                .isInstanceOfSatisfying(CallFailedException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
                    assertThat(e.status()).hasValue(400);
                    assertThat(e.attempts()).isEqualTo(1);
                    assertThat(e.getMessage()).contains("Invalid 'messages': empty");
                });
        provider.then(429, Map.of(), QUOTA);
        assertThatThrownBy(() -> limiter.execute(t, Estimate.requestOnly(), provider::chat))
                .isInstanceOfSatisfying(CallFailedException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
                    assertThat(e.getMessage()).contains("exceeded your current quota");
                });
        assertThat(provider.calls()).isEqualTo(2);
        assertThat(limiter.admin().stats(t)).doesNotContainKey("retries");
    }

    @Test
    void retriesStopAtMaxRetries() {
        Target t = target("requests=100/1s", Accounting.KEEP, 2, 0.01);
        for (int i = 0; i < 5; i++) {
            provider.then(500, Map.of(), "boom");
        }
        assertThatThrownBy(() -> limiter.execute(t, Estimate.requestOnly(), provider::chat))
                .isInstanceOfSatisfying(CallFailedException.class, e -> {
                    assertThat(e.attempts()).isEqualTo(3);
                    assertThat(e.getMessage()).contains("gave up");
                });
        assertThat(provider.calls()).isEqualTo(3);
        // Every permit was released before its backoff.
        assertThat(limiter.admin().usage(t).inFlight()).isZero();
    }

    @Test
    void a429WithRetryAfterPausesEveryClientOfTheTarget() throws Exception {
        Target t = target("requests=100/1s", Accounting.KEEP, 3, 0.01);
        provider.then(429, Map.of("retry-after", "2"), RATE);

        CompletableFuture<String> running = CompletableFuture.supplyAsync(
                () -> limiter.execute(t, Estimate.requestOnly(), provider::chat));
        await().atMost(Duration.ofSeconds(10)).until(() -> limiter.admin().stats(t).getOrDefault("provider_429", 0L) == 1);

        assertThat(limiter.admin().usage(t).cooldownUntil()).isNotNull();
        assertThat(limiter.tryAcquire(t, Estimate.requestOnly())).isEmpty();
        assertThat(running.get(20, TimeUnit.SECONDS)).contains("chat.completion");
        assertThat(limiter.admin().stats(t)).containsEntry("retries", 1L);
    }

    @Test
    void a429WithAnHttpDateRetryAfterIsHonoured() {
        Target t = target("requests=100/1s", Accounting.KEEP, 3, 0.01);
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.now().plusSeconds(2).atZone(java.time.ZoneOffset.UTC));
        provider.then(429, Map.of("retry-after", date), RATE);
        limiter.execute(t, Estimate.requestOnly(), provider::chat);
        assertThat(limiter.admin().stats(t)).containsEntry("provider_429", 1L).containsEntry("retries", 1L);
    }

    @Test
    void openAiHeadersSayingTheBudgetIsAlmostGoneSlowTheFleet() {
        Target t = target("requests=1000/60s", Accounting.KEEP, 3, 0.01);
        provider.then(200, Map.of("x-ratelimit-limit-requests", "500", "x-ratelimit-remaining-requests", "0",
                "x-ratelimit-reset-requests", "6m0s"), StubProvider.OK_BODY);

        limiter.execute(t, Estimate.requestOnly(), provider::chat);

        assertThat(limiter.tryAcquire(t, Estimate.requestOnly())).isEmpty();
        assertThat(limiter.admin().stats(t)).containsEntry("refused_provider", 1L);
    }

    @Test
    void anthropicRateLimitHeadersOnA429AreRead() {
        Target t = target("requests=1000/60s", Accounting.ACTUAL, 3, 0.01);
        String reset = Instant.now().plusSeconds(600).toString();
        provider.then(429, Map.of("retry-after", "1", "anthropic-ratelimit-output-tokens-limit", "8000",
                "anthropic-ratelimit-output-tokens-remaining", "0", "anthropic-ratelimit-output-tokens-reset", reset),
                "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Output tokens per minute\"}}");

        limiter.execute(t, Estimate.of(100, 0), provider::chat);

        // No output tokens left for ten minutes: a request wanting any is held back.
        assertThat(limiter.tryAcquire(t, Estimate.of(100, 50))).isEmpty();
        assertThat(limiter.tryAcquire(t, Estimate.of(100, 0))).isPresent();
    }

    @Test
    void usageIsCorrectedToActualOnlyWhereTheTargetSaysSo() {
        Target keep = target("tokens=10000/60s", Accounting.KEEP, 0, 0.01);
        Target actual = target("tokens=10000/60s", Accounting.ACTUAL, 0, 0.01);

        limiter.execute(keep, Estimate.of(200, 1000), provider::chat);
        limiter.execute(actual, Estimate.of(200, 1000), provider::chat);

        assertThat(limiter.admin().usage(keep).windows().get(0).used()).isEqualTo(1200);
        assertThat(limiter.admin().usage(actual).windows().get(0).used()).isEqualTo(150);
        assertThat(limiter.admin().stats(keep)).containsEntry("actual_input_tokens", 120L)
                .containsEntry("actual_output_tokens", 30L);
    }

    @Test
    void executeAsyncRetriesWithoutBlocking() throws Exception {
        Target t = target("requests=100/1s", Accounting.KEEP, 3, 0.01);
        provider.then(503, Map.of(), "busy");
        String body = limiter.executeAsync(t, Estimate.requestOnly(),
                ctx -> java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        return provider.chat(ctx);
                    } catch (Exception e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                })).get(20, TimeUnit.SECONDS);
        assertThat(body).contains("chat.completion");
        assertThat(provider.calls()).isEqualTo(2);
    }
}
