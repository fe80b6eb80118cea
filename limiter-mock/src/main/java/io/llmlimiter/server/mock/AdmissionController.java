package io.llmlimiter.server.mock;

import java.time.Instant;
import java.util.Objects;

/**
 * Decides admissions atomically against the request window, the token window and the concurrency
 * cap, and records what it admits. Rejected requests leave no trace in the windows. This class is
 * thread-safe: every decision runs under one lock, so the windows are exact.
 */
final class AdmissionController {

    private final Object lock = new Object();
    private final SlidingWindow requests = new SlidingWindow();
    private final SlidingWindow tokens = new SlidingWindow();
    private final AdmissionLog log = new AdmissionLog();
    private volatile MockProviderConfig config;
    private int inFlight;
    private int maxInFlight;

    /**
     * @param config the initial configuration
     */
    AdmissionController(MockProviderConfig config) {
        this.config = Objects.requireNonNull(config, "config must not be null");
    }

    /**
     * @return the configuration in force
     */
    MockProviderConfig config() {
        return config;
    }

    /**
     * Replaces the configuration; charges already in the windows stay and count against the new
     * limits (a limit that was absent starts empty).
     *
     * @param config the new configuration
     */
    void reconfigure(MockProviderConfig config) {
        Objects.requireNonNull(config, "config must not be null");
        synchronized (lock) {
            this.config = config;
        }
    }

    /**
     * Admits the request if one more request, {@code charge} more tokens and one more concurrent
     * call all fit; an admitted request holds a concurrency slot until {@link #release()}.
     *
     * @param charge the tokens to charge
     * @param endpoint the path called, for the admission log
     * @return the decision
     */
    Decision tryAdmit(long charge, String endpoint) {
        synchronized (lock) {
            long now = System.nanoTime();
            MockProviderConfig c = config;
            WindowLimit rl = c.requestLimit().orElse(null);
            WindowLimit tl = c.tokenLimit().orElse(null);
            if (rl != null) {
                long wait = requests.nanosUntilFits(now, rl.windowNanos(), rl.limit(), 1);
                if (wait != 0) {
                    return reject(Decision.Rejection.REQUESTS, charge, wait, now, c);
                }
            }
            if (tl != null) {
                long wait = tokens.nanosUntilFits(now, tl.windowNanos(), tl.limit(), charge);
                if (wait != 0) {
                    return reject(wait < 0 ? Decision.Rejection.TOO_LARGE : Decision.Rejection.TOKENS,
                            charge, wait, now, c);
                }
            }
            if (c.maxConcurrency() > 0 && inFlight >= c.maxConcurrency()) {
                // A slot frees when some call ends; the longest possible latency bounds that.
                long wait = Math.max(1_000_000, c.latency().plus(c.latencyJitter()).toNanos());
                return reject(Decision.Rejection.CONCURRENCY, charge, wait, now, c);
            }
            // Nothing is counted for an absent limit, so an unlimited provider keeps no history.
            if (rl != null) {
                requests.add(now, 1);
            }
            if (tl != null) {
                tokens.add(now, charge);
            }
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            log.record(new Admission(Instant.now(), now, charge, endpoint));
            return new Decision(null, charge, 0, state(requests, rl, now), state(tokens, tl, now),
                    inFlight, c.maxConcurrency());
        }
    }

    /** Gives back the concurrency slot of an admitted request. */
    void release() {
        synchronized (lock) {
            inFlight--;
        }
    }

    /**
     * @return requests being served now
     */
    int inFlight() {
        synchronized (lock) {
            return inFlight;
        }
    }

    /**
     * @return the most requests served at once since the last {@link #resetCounters()}
     */
    int maxInFlight() {
        synchronized (lock) {
            return maxInFlight;
        }
    }

    /**
     * @return the admission log
     */
    AdmissionLog log() {
        return log;
    }

    /** Forgets the admission log and the concurrency high-water mark, keeping the windows. */
    void resetCounters() {
        synchronized (lock) {
            maxInFlight = inFlight;
            log.clear();
        }
    }

    /** Empties both windows, as if the provider had been idle for a full window. */
    void resetWindows() {
        synchronized (lock) {
            requests.clear();
            tokens.clear();
        }
    }

    private Decision reject(Decision.Rejection why, long charge, long wait, long now, MockProviderConfig c) {
        return new Decision(why, charge, wait, state(requests, c.requestLimit().orElse(null), now),
                state(tokens, c.tokenLimit().orElse(null), now), inFlight, c.maxConcurrency());
    }

    private static WindowState state(SlidingWindow w, WindowLimit l, long now) {
        if (l == null) {
            return null;
        }
        long windowNanos = l.windowNanos();
        return new WindowState(l.limit(), w.used(now, windowNanos), l.window(), w.nanosUntilEmpty(now, windowNanos));
    }
}
