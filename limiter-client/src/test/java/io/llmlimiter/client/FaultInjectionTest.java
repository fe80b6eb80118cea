package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.llmlimiter.scripts.RequestLog;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.testing.FaultProxy;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.RequestLogs;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Mixed load through a proxy that injects latency, stalls, dropped connections and cuts: the
 * invariants hold whatever the network does.
 */
@WithRedis
class FaultInjectionTest {

    private static final Duration MAX_WAIT = Duration.ofSeconds(2);
    private static final Duration COMMAND_TIMEOUT = Duration.ofMillis(400);

    @Test
    void underNetworkFaultsNoWindowOverfillsNoLeaseIsLeftAndEveryFailureIsDocumented(RedisProcess redis)
            throws Exception {
        Target target = Target.parse("faults/model");
        LimitConfig config = LimitConfig.builder(target).limits("requests=30/2s,requests=1000/30s").maxConcurrent(4)
                .leaseTtl(Duration.ofSeconds(2)).build();
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicLong slowest = new AtomicLong();
        AtomicLong admitted = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();

        try (FaultProxy proxy = FaultProxy.start(redis);
             LlmLimiter limiter = LlmLimiter.builder().redis(proxy.uri()).commandTimeout(COMMAND_TIMEOUT).build()) {
            limiter.admin().putConfig(config);
            ExecutorService pool = Executors.newFixedThreadPool(6);
            List<Future<?>> workers = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                workers.add(pool.submit(() -> {
                    while (!stop.get()) {
                        long start = System.nanoTime();
                        try (Permit p = limiter.acquire(target, Estimate.tokens(10), MAX_WAIT)) {
                            admitted.incrementAndGet();
                            Thread.sleep(20);
                            p.complete(Usage.of(4, 4));
                        } catch (InterruptedException e) {
                            return;
                        } catch (Throwable e) {
                            failures.add(e);
                        } finally {
                            slowest.accumulateAndGet(System.nanoTime() - start, Math::max);
                        }
                    }
                }));
            }

            pause(Duration.ofSeconds(1));
            proxy.latency(Duration.ofMillis(30));
            pause(Duration.ofSeconds(1));
            proxy.latency(Duration.ZERO);
            proxy.stall();
            pause(Duration.ofMillis(800));
            proxy.resume();
            pause(Duration.ofSeconds(1));
            proxy.dropConnections();
            pause(Duration.ofSeconds(1));
            proxy.cut();
            pause(Duration.ofSeconds(1));
            proxy.restore();
            pause(Duration.ofSeconds(1));
            proxy.dropConnections();
            pause(Duration.ofSeconds(2));

            stop.set(true);
            for (Future<?> w : workers) {
                w.get();
            }
            pool.shutdown();
        }

        // Every failure is one of the documented exceptions.
        assertThat(failures).allSatisfy(e -> assertThat(e)
                .isInstanceOfAny(RateLimitedException.class, LimiterUnavailableException.class));
        // No caller was held past its deadline plus the bound on a lost reply.
        assertThat(Duration.ofNanos(slowest.get()))
                .isLessThanOrEqualTo(MAX_WAIT.plus(COMMAND_TIMEOUT.multipliedBy(3)).plusSeconds(2));
        assertThat(admitted.get()).isGreaterThan(30);

        try (RedisClient c = RedisClient.create(redis.uri()); StatefulRedisConnection<String, String> conn = c.connect()) {
            // The 30 s window keeps the whole run in the log: audit every admission Redis recorded,
            // including those whose reply a fault swallowed.
            List<WindowAuditor.Admission> log = new ArrayList<>();
            for (RequestLog.Entry e : RequestLogs.read(c, target.toString())) {
                log.add(new WindowAuditor.Admission(e.admitUs(), 10));
            }
            assertThat(log.size()).isGreaterThanOrEqualTo((int) admitted.get());
            for (Limit limit : config.limits()) {
                assertThat(WindowAuditor.maxInAnyWindow(log, limit)).as("max in any window of %s", limit)
                        .isLessThanOrEqualTo(limit.amount());
            }
            // No lease outlives the run by more than its TTL.
            await().atMost(config.leaseTtl().plusSeconds(1)).until(
                    () -> conn.sync().zcount("llmlim:{" + target + "}:leases",
                            io.lettuce.core.Range.create((double) nowMicros(conn), Double.POSITIVE_INFINITY)) == 0);
        }
    }

    private static long nowMicros(StatefulRedisConnection<String, String> conn) {
        List<String> t = conn.sync().time();
        return Long.parseLong(t.get(0)) * 1_000_000 + Long.parseLong(t.get(1));
    }

    private static void pause(Duration d) {
        await().pollDelay(d).atMost(d.plusSeconds(1)).until(() -> true);
    }
}
