package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Spend per tenant and admission waits per priority class, recorded in Redis by the client. */
@WithRedis
class TenantStatsTest {

    private static final AtomicInteger SEQ = new AtomicInteger();
    /** $10 / $40 per million tokens. */
    private static final ModelPrice PRICE = ModelPrice.of("10", "40");

    private static Map<String, TenantUsage> byName(List<TenantUsage> tenants) {
        return tenants.stream().collect(Collectors.toMap(TenantUsage::tenant, Function.identity()));
    }

    private static void call(LlmLimiter limiter, Target t, Tenant tenant, long in, long out) {
        try (Permit p = limiter.acquire(t, tenant, Estimate.of(in, out), Duration.ofSeconds(5))) {
            p.complete(Usage.of(in, out));
        }
    }

    @Test
    void eachTenantsSpendIsTheSumOfItsPricedCallsWithAndWithoutAScriptAtCompletion(RedisProcess redis) {
        // Without a concurrency cap a completion within its estimate needs no script; with one it does.
        Target free = new Target("mock", "tenant-spend-free" + SEQ.incrementAndGet());
        Target leased = new Target("mock", "tenant-spend-leased" + SEQ.incrementAndGet());
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(free).limits("requests=100/1m").prices(PRICE).build());
            limiter.admin().putConfig(LimitConfig.builder(leased).limits("requests=100/1m").maxConcurrent(5)
                    .prices(PRICE).build());
            for (Target t : List.of(free, leased)) {
                call(limiter, t, Tenant.of("search"), 1000, 100);
                call(limiter, t, Tenant.of("search"), 500, 0);
                call(limiter, t, Tenant.of("etl", Priority.BATCH), 2000, 1000);
                call(limiter, t, Tenant.DEFAULT, 100, 100);

                Map<String, TenantUsage> by = byName(limiter.admin().tenants(t));

                long search = PRICE.microUsd(1000, 0, 0, 100) + PRICE.microUsd(500, 0, 0, 0);
                assertThat(search).isEqualTo(19_000);
                assertThat(by.get("search").costMonthMicros()).as(t.toString()).isEqualTo(search);
                assertThat(by.get("search").costTodayMicros()).isEqualTo(search);
                assertThat(by.get("etl").costMonthMicros()).isEqualTo(PRICE.microUsd(2000, 0, 0, 1000));
                assertThat(by.get("default").costMonthMicros()).isEqualTo(PRICE.microUsd(100, 0, 0, 100));
                long sum = by.values().stream().mapToLong(TenantUsage::costMonthMicros).sum();
                assertThat(limiter.admin().stats(t).get("cost_usd_micros")).isEqualTo(sum);
            }
        }
    }

    @Test
    void tenantsPastTheCapSpendAsOther(RedisProcess redis) {
        Target t = new Target("mock", "tenant-spend-cap" + SEQ.incrementAndGet());
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1m").prices(PRICE)
                    .fairShare(FairShare.builder().maxTenants(2).build()).build());
            for (String name : List.of("a", "b", "c", "d", "a")) {
                call(limiter, t, Tenant.of(name), 1000, 0);
                // One flush per call, so the tenants reach Redis in this order.
                limiter.admin().stats(t);
            }

            Map<String, TenantUsage> by = byName(limiter.admin().tenants(t));

            assertThat(by.get("a").costMonthMicros()).isEqualTo(20_000);
            assertThat(by.get("b").costMonthMicros()).isEqualTo(10_000);
            assertThat(by.get("other").costMonthMicros()).isEqualTo(20_000);
            assertThat(by.get("c")).isNull();
            assertThat(by.get("d")).isNull();
        }
    }

    @Test
    void admissionWaitsAreCountedPerPriorityClass(RedisProcess redis) {
        Target t = new Target("mock", "tenant-waits" + SEQ.incrementAndGet());
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1m").build());
            limiter.acquire(t, Tenant.of("etl", Priority.BATCH), Estimate.tokens(10), Duration.ofSeconds(5)).close();
            limiter.acquire(t, Tenant.of("etl", Priority.BATCH), Estimate.tokens(10), Duration.ofSeconds(5)).close();
            limiter.acquire(t, Tenant.of("jobs", Priority.BACKGROUND), Estimate.tokens(10), Duration.ofSeconds(5)).close();

            Map<String, Long> stats = limiter.admin().stats(t);

            assertThat(stats.get("wait_count:batch")).isEqualTo(2);
            assertThat(stats.get("wait_count:background")).isEqualTo(1);
            assertThat(stats).doesNotContainKey("wait_count:interactive");
            assertThat(stats.get("wait_max_us:batch")).isPositive().isLessThanOrEqualTo(stats.get("wait_us:batch"));
            assertThat(stats.get("wait_max_us:background")).isEqualTo(stats.get("wait_us:background"));
        }
    }
}
