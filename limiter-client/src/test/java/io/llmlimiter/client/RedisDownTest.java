package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import io.llmlimiter.testing.LogCapture;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Redis stopped and restarted mid-run: nothing is admitted without it, blocking calls wait for it
 * within their deadlines, a lost config comes back from the clients; or degrade to a local share.
 */
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
    void aBlockingAcquireWaitsOutAShortOutageAndOnlyALongerOneFailsAtItsDeadline() throws Exception {
        Target t = Target.parse("down/closed");
        LimitConfig config = LimitConfig.builder(t).limits("requests=100/1s").build();
        // Given the config, the client writes it back when Redis returns empty.
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).commandTimeout(Duration.ofMillis(500))
                .config(config).build()) {
            limiter.admin().putConfig(config);
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();

            // Down for about a second: an acquire allowed to wait 5 s is admitted once Redis is back.
            redis.stop();
            CompletableFuture<Void> back = CompletableFuture.runAsync(() -> {
                sleep(1000);
                redis.restart();
            });
            long start = System.nanoTime();
            CompletableFuture<Permit> async = limiter.acquireAsync(t, Estimate.requestOnly(), Duration.ofSeconds(5));
            CompletableFuture<String> executed = limiter.executeAsync(t, Estimate.requestOnly(),
                    ctx -> CompletableFuture.completedFuture("ok"));
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(5)).close();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(900));
            async.get(10, TimeUnit.SECONDS).close();
            assertThat(executed.get(10, TimeUnit.SECONDS)).isEqualTo("ok");
            back.get(30, TimeUnit.SECONDS);

            // Down past the deadline: fail closed at the deadline, not at once and not much later.
            redis.stop();
            for (int i = 0; i < 2; i++) {
                long begin = System.nanoTime();
                assertThatThrownBy(() -> limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(2)))
                        .isInstanceOf(LimiterUnavailableException.class);
                Duration took = Duration.ofNanos(System.nanoTime() - begin);
                assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
                assertThat(took).isLessThan(Duration.ofMillis(2000 + 500 + 1500));
            }
            // A zero-wait acquire still says at once that Redis is away.
            assertThatThrownBy(() -> limiter.tryAcquire(t, Estimate.requestOnly()))
                    .isInstanceOf(LimiterUnavailableException.class);
            redis.restart();
        }
    }

    @Test
    void aTargetLeftWithoutConfigRunsOnTheDefaultAndSaysSoOnceAndInAGauge() {
        Target t = Target.parse("down/default");
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (LogCapture logs = LogCapture.start();
             LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).meterRegistry(meters).build()) {
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1s").build());
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();

            redis.restart();
            // The restarted Redis kept nothing: the target starts again from the default config.
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(10)).close();
            LimitConfig now = limiter.admin().config(t).orElseThrow();
            assertThat(now.autoCreated()).isTrue();
            assertThat(now.limits()).isEqualTo(LimitConfig.conservativeDefault(t).limits());
            assertThat(now.toJson()).contains("\"source\":\"default\"");
            assertThat(meters.get("llmlimiter.client.default.config").tag("target", t.toString()).gauge().value())
                    .isEqualTo(1.0);
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(logs.events().stream()
                    .filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains("runs on the default"))
                    .count()).isEqualTo(1));
            for (int i = 0; i < 3; i++) {
                limiter.tryAcquire(t, Estimate.requestOnly()).ifPresent(Permit::close);
            }

            // Someone gives it its config: the gauge goes back to 0, and no further warning.
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/1s").build());
            await().pollDelay(Duration.ofMillis(1100)).atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(2)).close();
                assertThat(meters.get("llmlimiter.client.default.config").tag("target", t.toString()).gauge().value())
                        .isEqualTo(0.0);
            });
            assertThat(logs.events().stream().filter(e -> e.getLevel() == Level.WARN
                    && e.getFormattedMessage().contains("runs on the default")).count()).isEqualTo(1);
        }
    }

    @Test
    void aClientGivenTheConfigReCreatesItWhenRedisComesBackEmptyButNeverOverANewerOne() {
        Target t = Target.parse("down/given");
        LimitConfig given = LimitConfig.builder(t).limits("requests=50/1s").maxConcurrent(8).build();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).config(given).meterRegistry(meters)
                .build()) {
            // First use: nobody configured the target, the client writes the config it was given.
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();
            assertThat(limiter.admin().config(t)).contains(given);

            redis.restart();
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(10)).close();
            assertThat(limiter.admin().config(t)).contains(given);
            assertThat(limiter.admin().config(t).orElseThrow().autoCreated()).isFalse();
            assertThat(meters.find("llmlimiter.client.default.config").gauges())
                    .allSatisfy(g -> assertThat(g.value()).isEqualTo(0.0));

            // A config written since (by an admin, or another client) is never overwritten.
            LimitConfig newer = LimitConfig.builder(t).limits("requests=20/1s").build();
            limiter.admin().putConfig(newer);
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();
            assertThat(limiter.admin().config(t)).contains(newer);
        }
    }

    @Test
    void aClientBuiltWhileRedisIsDownConnectsWhenItIsBack() throws Exception {
        Target t = Target.parse("down/late");
        LimitConfig given = LimitConfig.builder(t).limits("requests=50/1s").build();
        redis.stop();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).config(given).build()) {
            assertThatThrownBy(() -> limiter.tryAcquire(t, Estimate.requestOnly()))
                    .isInstanceOf(LimiterUnavailableException.class);
            CompletableFuture<Void> back = CompletableFuture.runAsync(() -> {
                sleep(1000);
                redis.restart();
            });
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(15)).complete(Usage.of(1, 1));
            String answer = limiter.execute(t, Estimate.requestOnly(), ctx -> "ok");
            assertThat(answer).isEqualTo("ok");
            back.get(30, TimeUnit.SECONDS);
            assertThat(limiter.admin().stats(t).get("admitted")).isEqualTo(2L);
            assertThat(limiter.admin().config(t)).contains(given);
        }
    }

    @Test
    void anInvalidUriStillFailsAtBuild() {
        assertThatThrownBy(() -> LlmLimiter.builder().redis("redis://no host:x").build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
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
