package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.llmlimiter.testing.LogCapture;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Dollar budgets through the client API: reserved at admission, corrected at completion. */
@WithRedis
class DollarBudgetTest {

    private static final AtomicInteger SEQ = new AtomicInteger();

    /** $10 / $40 per million tokens: an estimate of 500 in and 1000 out reserves $0.045. */
    private static LimitConfig config(Target t, String limits, Accounting accounting) {
        return LimitConfig.builder(t).limits(limits).prices(ModelPrice.of("10", "40")).accounting(accounting).build();
    }

    @ParameterizedTest
    @EnumSource(Accounting.class)
    void theReservationIsCorrectedToTheActualCostUnderEitherAccounting(Accounting accounting, RedisProcess redis) {
        Target t = new Target("mock", "reconcile-" + accounting.label() + SEQ.incrementAndGet());
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(config(t, "requests=100/1m,usd=0.1/day", accounting));
            Permit a = limiter.acquire(t, Estimate.of(500, 1000), Duration.ofSeconds(5));
            Permit b = limiter.acquire(t, Estimate.of(500, 1000), Duration.ofSeconds(5));
            // $0.09 reserved of $0.10: a third call does not fit while both are in flight.
            assertThatThrownBy(() -> limiter.tryAcquire(t, Estimate.of(500, 1000)))
                    .isInstanceOfSatisfying(BudgetExceededException.class, e -> {
                        assertThat(e.budget()).isEqualTo("usd=0.1/day");
                        assertThat(e.leftMicroUsd()).isEqualTo(10_000);
                    });

            // Each used 100 output tokens: $0.009, so $0.072 comes back.
            a.complete(Usage.of(500, 100));
            b.complete(Usage.of(500, 100));

            limiter.acquire(t, Estimate.of(500, 1000), Duration.ofSeconds(5)).close();
            assertThat(limiter.admin().stats(t).get("cost_usd_micros")).isEqualTo(18_000);
        }
    }

    @Test
    void usageAboveTheEstimateIsChargedOnTop(RedisProcess redis) {
        Target t = new Target("mock", "overage" + SEQ.incrementAndGet());
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(config(t, "requests=100/1m,usd=0.1/1h", Accounting.KEEP));
            try (Permit p = limiter.acquire(t, Estimate.of(500, 1000), Duration.ofSeconds(5))) {
                // 2000 output tokens: $0.085, $0.04 more than reserved.
                p.complete(Usage.of(500, 2000));
            }
            assertThatThrownBy(() -> limiter.tryAcquire(t, Estimate.of(500, 1000)))
                    .isInstanceOfSatisfying(BudgetExceededException.class, e -> assertThat(e.leftMicroUsd()).isEqualTo(15_000));
        }
    }

    @Test
    void aBlockingAcquireFailsAtOnceAndNamesTheNextUtcMidnight(RedisProcess redis) {
        Target t = new Target("mock", "daily" + SEQ.incrementAndGet());
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(config(t, "requests=100/1m,usd=0.05/day", Accounting.KEEP));
            limiter.acquire(t, Estimate.of(500, 1000), Duration.ofSeconds(5)).close();
            Instant midnight = LocalDate.now(ZoneOffset.UTC).plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC);

            // A caller ready to wait an hour is not made to wait: a budget is not a rate limit.
            assertThatThrownBy(() -> limiter.acquire(t, Estimate.of(500, 1000), Duration.ofHours(1)))
                    .isInstanceOfSatisfying(BudgetExceededException.class, e -> {
                        assertThat(e.freesAt()).hasValue(midnight);
                        assertThat(e.getMessage()).contains("usd=0.05/day").contains("$0.005 left");
                    });
            assertThat(limiter.admin().usage(t).waiting()).isZero();
        }
    }

    @Test
    void anUnknownModelCostsNothingAndIsSaidOncePerTarget(RedisProcess redis) {
        Target t = new Target("mock", "unpriced" + SEQ.incrementAndGet());
        try (LogCapture log = LogCapture.start();
             LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1m,usd=0.01/day").build());
            for (int i = 0; i < 3; i++) {
                try (Permit p = limiter.acquire(t, Estimate.of(500, 1000), Duration.ofSeconds(5))) {
                    p.complete(Usage.of(500, 1000));
                }
            }
            assertThat(log.text().split("the price table does not know this model", -1)).hasSize(2);
            assertThat(limiter.admin().stats(t).getOrDefault("cost_usd_micros", 0L)).isZero();
        }
    }
}
