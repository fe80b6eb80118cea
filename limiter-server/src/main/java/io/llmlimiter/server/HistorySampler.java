package io.llmlimiter.server;

import io.llmlimiter.client.Resource;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TargetUsage;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Samples the shared reading of every target ({@link Snapshots}, nothing read beyond it) into a
 * {@link HistoryRing} per target: every {@link #RESOLUTION}, the last {@link #SPAN}, for at most
 * {@link #MAX_TARGETS} targets (the first seen; the others get none until one of those is
 * deleted). Memory is bounded by {@code MAX_TARGETS * SPAN/RESOLUTION * (8 + 4 * series + 8 *
 * refusal reasons)} bytes: 1000 * 180 * 104 B, about 19 MB at most. Rates are counter differences between two samples
 * divided by the time between them. Thread-safe.
 */
final class HistorySampler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HistorySampler.class);

    /** Time between samples. */
    static final Duration RESOLUTION = Duration.ofSeconds(5);
    /** How far back the history reaches. */
    static final Duration SPAN = Duration.ofMinutes(15);
    /** The most targets that get a history. */
    static final int MAX_TARGETS = 1000;

    private final Snapshots snapshots;
    private final int capacity;
    private final int maxTargets;
    private final Map<Target, Track> tracks = new ConcurrentHashMap<>();
    private ScheduledExecutorService timer;

    /** What is remembered of a target between samples. */
    private static final class Track {
        final HistoryRing ring;
        Map<String, Long> counters;
        long atMillis;

        Track(int capacity) {
            this.ring = new HistoryRing(capacity);
        }
    }

    /** @param snapshots the shared reading */
    HistorySampler(Snapshots snapshots) {
        this(snapshots, (int) (SPAN.toMillis() / RESOLUTION.toMillis()), MAX_TARGETS);
    }

    /**
     * @param snapshots the shared reading
     * @param capacity samples kept per target
     * @param maxTargets the most targets that get a history
     */
    HistorySampler(Snapshots snapshots, int capacity, int maxTargets) {
        this.snapshots = snapshots;
        this.capacity = capacity;
        this.maxTargets = maxTargets;
    }

    /** Samples every {@link #RESOLUTION} on a daemon thread of its own. */
    synchronized void start() {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "llmlim-history");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleAtFixedRate(() -> {
            try {
                sample(snapshots.get());
            } catch (RuntimeException e) {
                // Redis unreachable: a gap in the history, which the charts show as one.
                LOG.debug("history sample skipped: {}", e.toString());
            }
        }, 0, RESOLUTION.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Adds one sample per target of a reading; forgets targets no longer in it.
     *
     * @param reading a reading
     */
    synchronized void sample(Snapshots.Reading reading) {
        long at = reading.at().toEpochMilli();
        Set<Target> present = new HashSet<>();
        for (TargetSnapshot s : reading.targets()) {
            present.add(s.target());
        }
        tracks.keySet().retainAll(present);
        for (TargetSnapshot s : reading.targets()) {
            Track track = tracks.get(s.target());
            if (track == null) {
                if (tracks.size() >= maxTargets) {
                    continue;
                }
                track = new Track(capacity);
                tracks.put(s.target(), track);
            }
            if (track.counters != null && at <= track.atMillis) {
                continue;
            }
            track.ring.add(at, values(s, track, at), refusedTotals(s));
            track.counters = new HashMap<>(s.counters());
            track.atMillis = at;
        }
    }

    private static float[] values(TargetSnapshot s, Track previous, long at) {
        float[] v = new float[HistoryRing.Series.values().length];
        double seconds = previous.counters == null ? Double.NaN : (at - previous.atMillis) / 1000.0;
        set(v, HistoryRing.Series.ADMITTED_PER_S, rate(s, previous, seconds, "admitted"));
        set(v, HistoryRing.Series.ESTIMATED_TOKENS_PER_S, rate(s, previous, seconds, "estimated_tokens"));
        set(v, HistoryRing.Series.ACTUAL_TOKENS_PER_S,
                rate(s, previous, seconds, "actual_input_tokens") + rate(s, previous, seconds, "actual_output_tokens"));
        set(v, HistoryRing.Series.PROVIDER_429_PER_MIN, 60 * rate(s, previous, seconds, "provider_429"));
        double refused = 0;
        for (String reason : HistoryRing.REFUSALS) {
            refused += rate(s, previous, seconds, "refused_" + reason);
        }
        set(v, HistoryRing.Series.REFUSED_PER_MIN, 60 * refused);
        set(v, HistoryRing.Series.REQUEST_LIMIT_PER_S, limitRate(s.usage(), Resource.REQUESTS, true));
        set(v, HistoryRing.Series.REQUEST_LIMIT_CONFIGURED_PER_S, limitRate(s.usage(), Resource.REQUESTS, false));
        set(v, HistoryRing.Series.TOKEN_LIMIT_PER_S, limitRate(s.usage(), Resource.TOKENS, true));
        set(v, HistoryRing.Series.TOKEN_LIMIT_CONFIGURED_PER_S, limitRate(s.usage(), Resource.TOKENS, false));
        set(v, HistoryRing.Series.WAITING, s.usage().waiting());
        set(v, HistoryRing.Series.IN_FLIGHT, s.usage().inFlight());
        set(v, HistoryRing.Series.MAX_CONCURRENT, s.config().maxConcurrent() == 0 ? Double.NaN : s.config().maxConcurrent());
        boolean waits = s.waits().admissions() > 0;
        set(v, HistoryRing.Series.WAIT_P50_MS, waits ? s.waits().p50().toNanos() / 1e6 : Double.NaN);
        set(v, HistoryRing.Series.WAIT_P99_MS, waits ? s.waits().p99().toNanos() / 1e6 : Double.NaN);
        return v;
    }

    private static void set(float[] v, HistoryRing.Series series, double value) {
        v[series.ordinal()] = (float) value;
    }

    /** A counter's increase per second; NaN for a target's first sample; a counter reset counts from zero. */
    private static double rate(TargetSnapshot s, Track previous, double seconds, String counter) {
        if (previous.counters == null || !(seconds > 0)) {
            return Double.NaN;
        }
        long now = s.counter(counter);
        long before = previous.counters.getOrDefault(counter, 0L);
        return (now >= before ? now - before : now) / seconds;
    }

    /**
     * @return the tightest limit of a resource as an average rate (amount per second of its window),
     *     effective or configured; NaN when the target has none
     */
    static double limitRate(TargetUsage usage, Resource resource, boolean effective) {
        double min = Double.NaN;
        for (TargetUsage.WindowUsage w : usage.windows()) {
            if (w.limit().resource() != resource) {
                continue;
            }
            double amount = effective ? w.effective() : w.limit().amount();
            double rate = amount / (w.limit().window().toMillis() / 1000.0);
            min = Double.isNaN(min) ? rate : Math.min(min, rate);
        }
        return min;
    }

    private static long[] refusedTotals(TargetSnapshot s) {
        long[] out = new long[HistoryRing.REFUSALS.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.counter("refused_" + HistoryRing.REFUSALS.get(i));
        }
        return out;
    }

    /**
     * @param target a target
     * @return its history, or empty when it has none (unknown, or beyond {@link #MAX_TARGETS})
     */
    Optional<HistoryRing.View> history(Target target) {
        Track track = tracks.get(target);
        return track == null ? Optional.empty() : Optional.of(track.ring.view());
    }

    /** @return how many targets have a history */
    int targets() {
        return tracks.size();
    }

    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
