package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Redis stopped and restarted mid-run: fail closed by default, or degrade to a local share. */
@WithRedis
class RedisDownTest {

    private final RedisProcess redis;

    RedisDownTest(RedisProcess redis) {
        this.redis = redis;
    }

    @AfterEach
    void redisIsBack() {
        if (!redis.isRunning()) {
            redis.restart();
        }
    }

    @Test
    void withRedisDownAcquireFailsClosedWithinItsDeadlineAndRecoversWhenItIsBack() {
        Target t = Target.parse("down/closed");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).commandTimeout(Duration.ofMillis(500)).build()) {
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1s").build());
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();

            redis.stop();
            for (int i = 0; i < 5; i++) {
                long start = System.nanoTime();
                assertThatThrownBy(() -> limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(10)))
                        .isInstanceOf(LimiterUnavailableException.class);
                // Fail closed within the command timeout plus slack, never the whole maxWait or a hang.
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
            }
            assertThatThrownBy(() -> limiter.tryAcquire(t, Estimate.requestOnly()))
                    .isInstanceOf(LimiterUnavailableException.class);

            redis.restart();
            // The restarted Redis kept nothing: the target starts again from the default config.
            await().atMost(Duration.ofSeconds(20)).ignoreExceptionsInstanceOf(LimiterUnavailableException.class)
                    .until(() -> {
                        limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();
                        return true;
                    });
            assertThat(limiter.admin().config(t)).contains(LimitConfig.conservativeDefault(t));
        }
    }

    @Test
    void degradedModeAdmitsItsShareLocallyWhileRedisIsDownAndReturnsToRedis() {
        Target t = Target.parse("down/degraded");
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).commandTimeout(Duration.ofMillis(500))
                .degradedMode(0.5).meterRegistry(meters).build()) {
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=10/2s").build());
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();
            await().pollDelay(Duration.ofMillis(2100)).atMost(Duration.ofSeconds(3)).until(() -> true);

            redis.stop();
            List<Permit> local = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                limiter.tryAcquire(t, Estimate.requestOnly()).ifPresent(local::add);
            }
            // Half of the 10-per-2s budget, from the config last read from Redis.
            assertThat(local).hasSize(5);
            assertThat(meters.get("llmlimiter.client.degraded").gauge().value()).isEqualTo(1.0);
            assertThat(meters.get("llmlimiter.client.degraded.admitted").counter().count()).isEqualTo(5.0);
            local.forEach(Permit::close);

            redis.restart();
            await().atMost(Duration.ofSeconds(20)).ignoreExceptionsInstanceOf(LimiterUnavailableException.class)
                    .until(() -> {
                        limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=10/2s").build());
                        return true;
                    });
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                limiter.tryAcquire(t, Estimate.requestOnly()).ifPresent(Permit::close);
                return meters.get("llmlimiter.client.degraded").gauge().value() == 0.0;
            });
            assertThat(limiter.admin().stats(t).get("admitted")).isPositive();
        }
    }
}
