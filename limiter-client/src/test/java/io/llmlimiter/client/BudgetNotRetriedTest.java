package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.llmlimiter.client.retry.ErrorClassifier;
import io.llmlimiter.client.retry.FailureKind;
import io.llmlimiter.client.retry.HttpStatusException;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A call that would pass a dollar budget fails at once with {@link BudgetExceededException}, from
 * {@code execute} and {@code executeAsync} alike: it is never retried as a rate limit, never waits
 * for the calendar reset, and a retry loop does not loop on it, whatever the error classifier says.
 */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BudgetNotRetriedTest {

    /** Were any of these retried, each wait would last an hour: the call would not come back. */
    private static final RetrySettings PATIENT =
            new RetrySettings(5, Duration.ofHours(1), Duration.ofHours(1), Duration.ofDays(1));
    /** Short waits, so a retry shows as a count, not as a hang. */
    private static final RetrySettings QUICK =
            new RetrySettings(3, Duration.ofMillis(10), Duration.ofMillis(10), Duration.ofMinutes(1));
    /** $10 / $40 per million tokens: this estimate reserves $0.045. */
    private static final Estimate CALL = Estimate.of(500, 1000);

    private final AtomicInteger seq = new AtomicInteger();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private LlmLimiter limiter;
    /** A user's classifier that retries every runtime exception, a limiter's own refusals included. */
    private LlmLimiter retryingEverything;

    @BeforeAll
    void connect(RedisProcess redis) {
        limiter = LlmLimiter.builder().redis(redis.uri()).meterRegistry(meters).build();
        retryingEverything = LlmLimiter.builder().redis(redis.uri())
                .errorClassifier(ErrorClassifier.builder().causeType(RuntimeException.class, FailureKind.SERVER_ERROR)
                        .build())
                .build();
    }

    @AfterAll
    void close() {
        limiter.close();
        retryingEverything.close();
    }

    private Target target(String limits, RetrySettings retry) {
        Target t = new Target("mock", "budget-retry" + seq.incrementAndGet());
        limiter.admin().putConfig(LimitConfig.builder(t).limits(limits).prices(ModelPrice.of("10", "40"))
                .retry(retry).build());
        return t;
    }

    /** A target whose daily budget has $0.005 left: the next call of {@link #CALL} does not fit. */
    private Target spent(RetrySettings retry) {
        Target t = target("requests=100/1m,usd=0.05/day", retry);
        limiter.acquire(t, CALL, Duration.ofSeconds(5)).close();
        return t;
    }

    private double retryMeter(Target t) {
        return meters.find("llmlimiter.client.retries").tag("target", t.toString()).counters().stream()
                .mapToDouble(c -> c.count()).sum();
    }

    @Test
    void executeFailsAtOnceWithTheBudgetRefusalAndNeverCallsTheProvider() {
        Target t = spent(PATIENT);
        AtomicInteger calls = new AtomicInteger();

        assertThatThrownBy(() -> limiter.execute(t, CALL, ctx -> calls.incrementAndGet()))
                .isInstanceOfSatisfying(BudgetExceededException.class, e -> {
                    assertThat(e.budget()).isEqualTo("usd=0.05/day");
                    assertThat(e.leftMicroUsd()).isEqualTo(5_000);
                    assertThat(e.freesAt()).isPresent();
                });

        assertThat(calls).hasValue(0);
        assertThat(limiter.admin().stats(t)).doesNotContainKey("retries").containsEntry("refused_budget", 1L);
        assertThat(limiter.admin().usage(t).waiting()).isZero();
        assertThat(retryMeter(t)).isZero();
    }

    @Test
    void executeAsyncFailsAtOnceWithTheBudgetRefusalAndNeverCallsTheProvider() {
        Target t = spent(PATIENT);
        AtomicInteger calls = new AtomicInteger();

        CompletableFuture<Integer> result = limiter.executeAsync(t, CALL,
                ctx -> CompletableFuture.completedFuture(calls.incrementAndGet()));

        assertThat(result).failsWithin(Duration.ofSeconds(20)).withThrowableOfType(ExecutionException.class)
                .havingCause().isInstanceOf(BudgetExceededException.class);
        assertThat(calls).hasValue(0);
        assertThat(limiter.admin().stats(t)).doesNotContainKey("retries");
        assertThat(limiter.admin().usage(t).waiting()).isZero();
    }

    @Test
    void aRetryWhoseAdmissionPassesTheBudgetEndsTheLoopWithTheRefusal() {
        // The first attempt reserves $0.045 of $0.05 and fails with a 503; its reservation stands
        // (the provider may have billed it), so the retry's admission is refused by the budget.
        Target t = target("requests=100/1m,usd=0.05/day", QUICK);
        AtomicInteger calls = new AtomicInteger();

        assertThatThrownBy(() -> limiter.execute(t, CALL, ctx -> {
            calls.incrementAndGet();
            throw new HttpStatusException(503);
        })).isInstanceOf(BudgetExceededException.class);

        assertThat(calls).hasValue(1);
        assertThat(limiter.admin().stats(t)).containsEntry("retries", 1L).containsEntry("admitted", 1L)
                .containsEntry("refused_budget", 1L);
        assertThat(limiter.admin().usage(t).inFlight()).isZero();
    }

    @Test
    void aRetryWhoseAdmissionPassesTheBudgetEndsTheAsyncLoopWithTheRefusal() {
        Target t = target("requests=100/1m,usd=0.05/day", QUICK);
        AtomicInteger calls = new AtomicInteger();

        CompletableFuture<String> result = limiter.executeAsync(t, CALL, ctx -> {
            calls.incrementAndGet();
            return CompletableFuture.failedFuture(new HttpStatusException(503));
        });

        assertThat(result).failsWithin(Duration.ofSeconds(20)).withThrowableOfType(ExecutionException.class)
                .havingCause().isInstanceOf(BudgetExceededException.class);
        assertThat(calls).hasValue(1);
        assertThat(limiter.admin().stats(t)).containsEntry("retries", 1L).containsEntry("admitted", 1L);
    }

    @Test
    void aBudgetRefusalInsideTheCallIsNotRetriedEvenByAClassifierThatRetriesEverything() {
        Target outer = target("requests=100/1m", QUICK);
        Target inner = spent(QUICK);
        AtomicInteger calls = new AtomicInteger();

        assertThatThrownBy(() -> retryingEverything.execute(outer, Estimate.requestOnly(), ctx -> {
            calls.incrementAndGet();
            try (Permit p = retryingEverything.acquire(inner, CALL, Duration.ofHours(1))) {
                return "answered";
            }
        })).isInstanceOfSatisfying(BudgetExceededException.class, e -> assertThat(e.target()).isEqualTo(inner));

        assertThat(calls).hasValue(1);
        assertThat(limiter.admin().stats(outer)).doesNotContainKey("retries").containsEntry("admitted", 1L);
        assertThat(limiter.admin().usage(outer).inFlight()).isZero();
    }

    @Test
    void aBudgetRefusalInsideTheAsyncCallIsNotRetriedEvenByAClassifierThatRetriesEverything() {
        Target outer = target("requests=100/1m", QUICK);
        Target inner = spent(QUICK);
        AtomicInteger calls = new AtomicInteger();

        CompletableFuture<String> result = retryingEverything.executeAsync(outer, Estimate.requestOnly(), ctx -> {
            calls.incrementAndGet();
            return retryingEverything.acquireAsync(inner, CALL, Duration.ofHours(1)).thenApply(p -> {
                p.close();
                return "answered";
            });
        });

        assertThat(result).failsWithin(Duration.ofSeconds(20)).withThrowableOfType(ExecutionException.class)
                .havingCause().isInstanceOf(BudgetExceededException.class);
        assertThat(calls).hasValue(1);
        assertThat(limiter.admin().stats(outer)).doesNotContainKey("retries");
    }
}
