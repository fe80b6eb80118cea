package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TargetReading;
import io.llmlimiter.client.TargetUsage;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

@WithRedis
class SnapshotsTest {

    @Test
    void oneBatchReadsEveryTargetAndIsServedUntilItIsASecondOld(RedisProcess redis) {
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            for (int i = 0; i < 50; i++) {
                // A concurrency cap, so an admission holds a lease the reading can count in flight.
                limiter.admin().putConfig(LimitConfig.builder(Target.parse("snap/m" + i)).limits("requests=10/60s")
                        .maxConcurrent(4).build());
            }
            CountingAdmin admin = new CountingAdmin(limiter.admin());
            AtomicLong nanos = new AtomicLong();
            Snapshots snapshots = new Snapshots(admin, Duration.ofSeconds(1), nanos::get);

            Snapshots.Reading first = snapshots.get();
            try (Permit p = limiter.acquire(Target.parse("snap/m7"), Estimate.requestOnly(), Duration.ofSeconds(5))) {
                nanos.addAndGet(Duration.ofMillis(999).toNanos());
                Snapshots.Reading cached = snapshots.get();
                nanos.addAndGet(Duration.ofMillis(1).toNanos());
                Snapshots.Reading next = snapshots.get();

                assertThat(first.targets()).hasSize(50);
                assertThat(admin.reads.get()).isEqualTo(2);
                assertThat(cached).isSameAs(first);
                assertThat(next).isNotSameAs(first);
                assertThat(used(first, "snap/m7")).isZero();
                assertThat(used(next, "snap/m7")).isEqualTo(1);
                assertThat(next.targets().stream().filter(s -> s.target().equals(Target.parse("snap/m7")))
                        .findFirst().orElseThrow().usage().inFlight()).isEqualTo(1);
            }
            snapshots.invalidate();
            snapshots.get();
            assertThat(admin.reads.get()).isEqualTo(3);
        }
    }

    @Test
    void callersOfAStaleReadingShareOneRead(RedisProcess redis) throws Exception {
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(Target.parse("snap/shared")).limits("requests=10/60s").build());
            CountingAdmin admin = new CountingAdmin(limiter.admin());
            Snapshots snapshots = new Snapshots(admin, Duration.ofMinutes(1), System::nanoTime);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Snapshots.Reading>> all = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    all.add(pool.submit(() -> {
                        go.await();
                        return snapshots.get();
                    }));
                }
                go.countDown();
                for (Future<Snapshots.Reading> f : all) {
                    assertThat(f.get()).isSameAs(all.get(0).get());
                }
                assertThat(admin.reads.get()).isEqualTo(1);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static long used(Snapshots.Reading r, String target) {
        return r.targets().stream().filter(s -> s.target().equals(Target.parse(target))).findFirst().orElseThrow()
                .usage().windows().get(0).used();
    }

    /** The real admin, counting batched reads. */
    private static final class CountingAdmin implements LimiterAdmin {
        final AtomicInteger reads = new AtomicInteger();
        private final LimiterAdmin real;

        CountingAdmin(LimiterAdmin real) {
            this.real = real;
        }

        @Override
        public List<TargetReading> read(List<Target> targets) {
            reads.incrementAndGet();
            return real.read(targets);
        }

        @Override
        public Optional<LimitConfig> config(Target target) {
            return real.config(target);
        }

        @Override
        public void putConfig(LimitConfig config) {
            real.putConfig(config);
        }

        @Override
        public boolean putConfigIfAbsent(LimitConfig config) {
            return real.putConfigIfAbsent(config);
        }

        @Override
        public boolean deleteConfig(Target target) {
            return real.deleteConfig(target);
        }

        @Override
        public List<Target> targets() {
            return real.targets();
        }

        @Override
        public Optional<LimitConfig> defaultConfig() {
            return real.defaultConfig();
        }

        @Override
        public void putDefaultConfig(LimitConfig config) {
            real.putDefaultConfig(config);
        }

        @Override
        public TargetUsage usage(Target target) {
            return real.usage(target);
        }

        @Override
        public Map<String, Long> stats(Target target) {
            return real.stats(target);
        }

        @Override
        public void reset(Target target) {
            real.reset(target);
        }
    }
}
