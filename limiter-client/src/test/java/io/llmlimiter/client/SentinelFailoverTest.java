package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.testing.RedisSentinelSetup;
import io.llmlimiter.testing.RedisWire;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A Sentinel-managed master is killed: acquires resume on the promoted replica. */
@Tag("redis-features")
class SentinelFailoverTest {

    private static final Duration MAX_WAIT = Duration.ofSeconds(1);
    private static final Duration COMMAND_TIMEOUT = Duration.ofMillis(500);

    @Test
    void acquiresResumeAfterPromotionWithNoThreadStuckAndScriptsReloaded() throws Exception {
        Target target = Target.parse("sentinel/model");
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicLong slowest = new AtomicLong();
        AtomicLong admitted = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        try (RedisSentinelSetup sentinel = RedisSentinelSetup.start();
             LlmLimiter limiter = LlmLimiter.builder().redis(sentinel.sentinelUri()).commandTimeout(COMMAND_TIMEOUT)
                     .build()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("requests=1000/1s").maxConcurrent(8).build());
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> workers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                workers.add(pool.submit(() -> {
                    while (!stop.get()) {
                        long start = System.nanoTime();
                        try (Permit p = limiter.acquire(target, Estimate.requestOnly(), MAX_WAIT)) {
                            admitted.incrementAndGet();
                            Thread.sleep(5);
                        } catch (InterruptedException e) {
                            return;
                        } catch (Throwable e) {
                            failures.add(e);
                            sleepQuietly();
                        } finally {
                            slowest.accumulateAndGet(System.nanoTime() - start, Math::max);
                        }
                    }
                }));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> admitted.get() > 50);

            sentinel.killMaster();
            long killed = System.nanoTime();
            int newMaster = sentinel.awaitFailover(Duration.ofSeconds(30));
            long before = admitted.get();
            await().atMost(Duration.ofSeconds(20)).until(() -> admitted.get() > before + 50);
            Duration resumedAfter = Duration.ofNanos(System.nanoTime() - killed);

            stop.set(true);
            for (Future<?> w : workers) {
                w.get();
            }
            pool.shutdown();

            assertThat(resumedAfter).isLessThan(Duration.ofSeconds(30));
            assertThat(failures).allSatisfy(e -> assertThat(e)
                    .isInstanceOfAny(LimiterUnavailableException.class, RateLimitedException.class));
            assertThat(Duration.ofNanos(slowest.get()))
                    .isLessThanOrEqualTo(MAX_WAIT.plus(COMMAND_TIMEOUT.multipliedBy(3)).plusSeconds(2));
            // The promoted replica had no script cache: the client reloaded the scripts there.
            assertThat(RedisWire.info(newMaster, "commandstats", "cmdstat_eval")).isNotNull();
            assertThat(limiter.admin().stats(target).get("admitted")).isPositive();
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
