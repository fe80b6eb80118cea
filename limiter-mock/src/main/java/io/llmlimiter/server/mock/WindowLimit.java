package io.llmlimiter.server.mock;

import java.time.Duration;
import java.util.Objects;

/**
 * At most {@code limit} units (requests or tokens) in any sliding window of length {@code window}.
 * This record is immutable and thread-safe.
 *
 * @param limit the most units allowed in any window, at least 1
 * @param window the window length, at least 1 ms
 */
public record WindowLimit(long limit, Duration window) {

    /** Validates the limit, naming the bad field. */
    public WindowLimit {
        Objects.requireNonNull(window, "window must not be null");
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, got " + limit);
        }
        if (window.toMillis() < 1) {
            throw new IllegalArgumentException("window must be at least 1ms, got " + window);
        }
    }

    /**
     * @return the window length in nanoseconds
     */
    public long windowNanos() {
        return window.toNanos();
    }
}
