package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.testing.FaultProxy;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Fair share counts the tokens a tenant's calls were actually served: completions correct the
 * tenant's counter and admitted tokens by what their usage differs from the estimate, once each.
 */
@WithRedis
class FairShareUsageTest {

    @Test
    void completionsCorrectTheTenantsTokensToTheirUsageOnce(RedisProcess redis) {
        Target target = Target.parse("fair/usage");
        Tenant etl = Tenant.of("etl", Priority.BATCH);
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("tokens=100000/60s").accounting(Accounting.KEEP)
                    .fairShare(FairShare.builder().tenant("etl", TenantShare.weight(2)).build()).build());
            // Within the estimate (no script under keep accounting), above it, and released without usage.
            limiter.acquire(target, etl, Estimate.of(600, 400), Duration.ofSeconds(5)).complete(Usage.of(100, 50));
            limiter.acquire(target, etl, Estimate.of(600, 400), Duration.ofSeconds(5)).complete(Usage.of(900, 300));
            limiter.acquire(target, etl, Estimate.of(600, 400), Duration.ofSeconds(5)).close();

            TenantUsage usage = tenant(limiter, target, "etl");
            assertThat(usage.requests()).isEqualTo(3);
            assertThat(usage.tokens()).isEqualTo(150 + 1200 + 1000);
            // Read again (another flush): nothing counts twice.
            assertThat(tenant(limiter, target, "etl").tokens()).isEqualTo(150 + 1200 + 1000);
        }
        try (LlmLimiter other = LlmLimiter.builder().redis(redis.uri()).build()) {
            assertThat(tenant(other, target, "etl").tokens()).isEqualTo(150 + 1200 + 1000);
        }
    }

    @Test
    void aCorrectionWhoseReplyIsLostIsSentAgainAndCountedOnce(RedisProcess redis) {
        Target target = Target.parse("fair/lost");
        Tenant etl = Tenant.of("etl", Priority.BATCH);
        Duration timeout = Duration.ofMillis(300);
        try (FaultProxy proxy = FaultProxy.start(redis);
             LlmLimiter limiter = LlmLimiter.builder().redis(proxy.uri()).commandTimeout(timeout).build();
             RedisClient inspector = RedisClient.create(redis.uri());
             StatefulRedisConnection<String, String> conn = inspector.connect()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("tokens=100000/60s").accounting(Accounting.KEEP)
                    .fairShare(FairShare.builder().build()).build());
            limiter.acquire(target, etl, Estimate.of(600, 400), Duration.ofSeconds(5)).complete(Usage.of(100, 50));
            assertThat(tenant(limiter, target, "etl").tokens()).isEqualTo(150);
            limiter.acquire(target, etl, Estimate.of(600, 400), Duration.ofSeconds(5)).complete(Usage.of(200, 100));
            String tokens = "a:etl";
            String key = "llmlim:{" + target + "}:tn";
            proxy.dropReplies();
            // The correction reaches Redis with the stats (within a second); its answer is lost.
            await().atMost(Duration.ofSeconds(10)).until(() -> "450".equals(conn.sync().hget(key, tokens)));
            await().pollDelay(timeout.plusMillis(200)).atMost(Duration.ofSeconds(2)).until(() -> true);
            proxy.restore();

            // Sent again (the next flush, and this read's, once reconnected) under the same number: applied once.
            TenantUsage read = await().ignoreExceptions().atMost(Duration.ofSeconds(10))
                    .until(() -> tenant(limiter, target, "etl"), u -> true);
            assertThat(read.tokens()).isEqualTo(450);
            await().pollDelay(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> true);
            assertThat(conn.sync().hget(key, tokens)).isEqualTo("450");
        }
    }

    private static TenantUsage tenant(LlmLimiter limiter, Target target, String name) {
        return limiter.admin().tenants(target).stream().filter(t -> t.tenant().equals(name)).findFirst().orElseThrow();
    }
}
