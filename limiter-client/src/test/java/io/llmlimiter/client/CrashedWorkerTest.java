package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A worker killed with SIGKILL while holding permits: they free within the lease TTL. */
@WithRedis
class CrashedWorkerTest {

    @Test
    void permitsOfAKilledJvmAreFreeWithinLeaseTtlPlusOneSecond(RedisProcess redis) throws Exception {
        Target target = Target.parse("crash/holder");
        Duration ttl = Duration.ofSeconds(2);
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             JvmProcess holder = JvmProcess.start(LeaseHolder.class, redis.uri(), target.toString(), "3")) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("requests=1000/1s").maxConcurrent(3)
                    .leaseTtl(ttl).build());
            await().atMost(Duration.ofSeconds(30)).until(() -> holder.output().contains("HELD"));
            // Renewals keep the leases alive well past one TTL while the holder lives.
            await().pollDelay(ttl.multipliedBy(2)).atMost(ttl.multipliedBy(3)).until(() -> true);
            assertThat(limiter.tryAcquire(target, Estimate.requestOnly())).as(holder.output()).isEmpty();

            holder.kill();
            long killed = System.nanoTime();
            // All three of the dead holder's slots come back to a live client within TTL + 1 s.
            java.util.List<Permit> mine = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Duration left = ttl.plusSeconds(1).minusNanos(System.nanoTime() - killed);
                mine.add(limiter.acquire(target, Estimate.requestOnly(), left.isNegative() ? Duration.ofMillis(1) : left));
            }

            assertThat(Duration.ofNanos(System.nanoTime() - killed)).isLessThanOrEqualTo(ttl.plusSeconds(1));
            assertThat(limiter.admin().usage(target).inFlight()).isEqualTo(3);
            mine.forEach(Permit::close);
        }
    }
}
