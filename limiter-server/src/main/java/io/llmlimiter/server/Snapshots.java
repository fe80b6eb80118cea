package io.llmlimiter.server;

import io.llmlimiter.client.LimiterAdmin;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Every target's snapshot, read in one batch (the target list, then every target's reads sent
 * together) and kept for about a second: {@code /api/v1/stats}, {@code /metrics}, the dashboard
 * and the history sampler all share it, so their cost does not grow with how often they are asked.
 * Reads never take the config store's lock; concurrent callers of a stale reading wait for one
 * read instead of each sending their own. Thread-safe.
 */
final class Snapshots {

    /** How long a reading is served before the next caller reads again. */
    static final Duration MAX_AGE = Duration.ofSeconds(1);

    /**
     * Every target's snapshot at one moment.
     *
     * @param at when the reading was taken (the server's clock)
     * @param nanos {@link System#nanoTime()} when it was taken
     * @param targets the snapshots, by target name
     */
    record Reading(Instant at, long nanos, List<TargetSnapshot> targets) {
        Reading {
            targets = List.copyOf(targets);
        }
    }

    private final LimiterAdmin admin;
    private final Timer reads;
    private final long maxAgeNanos;
    private final LongSupplier nanoTime;
    private final Object reading = new Object();
    private volatile Reading last;

    /**
     * @param admin the limiter's admin
     * @param registry where the time each reading took is recorded ({@code llmlimiter.server.snapshot.read})
     */
    Snapshots(LimiterAdmin admin, MeterRegistry registry) {
        this(admin, registry, MAX_AGE, System::nanoTime);
    }

    Snapshots(LimiterAdmin admin, Duration maxAge, LongSupplier nanoTime) {
        this(admin, new SimpleMeterRegistry(), maxAge, nanoTime);
    }

    private Snapshots(LimiterAdmin admin, MeterRegistry registry, Duration maxAge, LongSupplier nanoTime) {
        this.admin = Objects.requireNonNull(admin, "admin");
        this.reads = Timer.builder(ServerMetrics.PREFIX + "server.snapshot.read")
                .description("Reading every target's config, usage, counters and waits from Redis in one batch")
                .register(registry);
        this.maxAgeNanos = maxAge.toNanos();
        this.nanoTime = nanoTime;
    }

    /**
     * @return a reading no older than {@link #MAX_AGE}
     * @throws io.llmlimiter.client.LimiterUnavailableException when Redis does not answer
     */
    Reading get() {
        Reading r = last;
        if (fresh(r)) {
            return r;
        }
        synchronized (reading) {
            r = last;
            if (fresh(r)) {
                return r;
            }
            long start = nanoTime.getAsLong();
            List<TargetSnapshot> snaps = admin.read(admin.targets()).stream().map(TargetSnapshot::of).toList();
            reads.record(nanoTime.getAsLong() - start, TimeUnit.NANOSECONDS);
            r = new Reading(Instant.now(), start, snaps);
            last = r;
            return r;
        }
    }

    /** Makes the next {@link #get()} read again: after a change made through this server. */
    void invalidate() {
        last = null;
    }

    private boolean fresh(Reading r) {
        return r != null && nanoTime.getAsLong() - r.nanos() < maxAgeNanos;
    }
}
