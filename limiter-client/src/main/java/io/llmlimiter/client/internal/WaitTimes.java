package io.llmlimiter.client.internal;

import io.llmlimiter.client.Target;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How long this client's callers waited for admission, per target, published for the admin
 * server's history: once a second, for each target with admissions in the last {@link #SPAN}, one
 * pipelined {@code HSET} + {@code PEXPIRE} of the hash {@code llmlim:{T}:waits}, field = this
 * client's id, value = {@code "n p50_us p99_us at_ms"} over the admissions of the last
 * {@link #SPAN} (at most the latest {@link #SAMPLES}). A target that went quiet is published once
 * with {@code n = 0} and then forgotten. Recording is lock-free (it runs on Lettuce's threads).
 * This class is thread-safe.
 */
final class WaitTimes {

    /** The span the published percentiles cover. */
    static final Duration SPAN = Duration.ofSeconds(15);
    /** How many of a target's latest waits are kept. */
    static final int SAMPLES = 2048;
    /** How long the hash lives after the last write by any client. */
    static final Duration TTL = Duration.ofSeconds(60);

    private final RedisLimiter limiter;
    private final String clientId = UUID.randomUUID().toString().substring(0, 13);
    private final Map<Target, Recent> recent = new ConcurrentHashMap<>();

    WaitTimes(RedisLimiter limiter) {
        this.limiter = limiter;
    }

    /** Starts publishing once a second on the limiter's timer. */
    void start() {
        limiter.timer().scheduleWithFixedDelay(() -> {
            try {
                publish();
            } catch (RuntimeException e) {
                // Redis unreachable or the connection closing: the history misses a second, publishing goes on.
            }
        }, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * @param target a target
     * @return its waits hash
     */
    static String key(Target target) {
        return Keys.PREFIX + "{" + target + "}:waits";
    }

    /**
     * Records one admission's wait (from the call to acquire to its admission).
     *
     * @param target the target
     * @param waitNanos the wait
     */
    void record(Target target, long waitNanos) {
        recent.computeIfAbsent(target, t -> new Recent()).add(System.currentTimeMillis(), waitNanos / 1000);
    }

    /** Sends what changed since the last call; never waits for Redis. */
    void publish() {
        long now = System.currentTimeMillis();
        recent.forEach((target, r) -> {
            if (!r.dirty(now)) {
                return;
            }
            long[] waits = r.since(now - SPAN.toMillis());
            String value = waits.length + " " + percentile(waits, 0.50) + " " + percentile(waits, 0.99) + " " + now;
            if (waits.length == 0) {
                recent.remove(target, r);
            }
            var commands = limiter.scripts().commands();
            String key = key(target);
            commands.hset(key, clientId, value);
            commands.pexpire(key, TTL.toMillis());
        });
    }

    /**
     * @param sorted values in ascending order
     * @param q a quantile in (0, 1]
     * @return the nearest-rank quantile, 0 when there are none
     */
    static long percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    /** A target's latest waits: a ring written without locks. */
    static final class Recent {
        private final AtomicLong next = new AtomicLong();
        private final AtomicLongArray at = new AtomicLongArray(SAMPLES);
        private final AtomicLongArray micros = new AtomicLongArray(SAMPLES);
        // Written by publish only (the timer's single thread).
        private long publishedNext;
        private long lastSampleAt;

        void add(long nowMillis, long waitMicros) {
            int slot = (int) (next.getAndIncrement() % SAMPLES);
            micros.set(slot, waitMicros);
            at.set(slot, nowMillis);
        }

        /** @return whether there is something to publish: new waits, or old ones ageing out of the span */
        boolean dirty(long nowMillis) {
            long n = next.get();
            if (n != publishedNext) {
                publishedNext = n;
                lastSampleAt = nowMillis;
                return true;
            }
            // Keep publishing while the waits already sent still cover part of the span, then once more (n = 0).
            return nowMillis - lastSampleAt <= SPAN.toMillis() + 1000;
        }

        /** @return the waits recorded at or after a time, sorted */
        long[] since(long fromMillis) {
            long n = Math.min(next.get(), SAMPLES);
            long[] out = new long[(int) n];
            int k = 0;
            for (int i = 0; i < n; i++) {
                if (at.get(i) >= fromMillis) {
                    out[k++] = micros.get(i);
                }
            }
            long[] sorted = Arrays.copyOf(out, k);
            Arrays.sort(sorted);
            return sorted;
        }
    }
}
