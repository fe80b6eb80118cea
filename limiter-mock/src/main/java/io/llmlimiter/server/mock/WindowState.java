package io.llmlimiter.server.mock;

import java.time.Duration;

/**
 * One window as the provider reports it in headers and error messages, taken at the moment of a
 * decision. This record is immutable and thread-safe.
 *
 * @param limit the window's limit
 * @param used the amount in the window, counting the request only if it was admitted
 * @param window the window length
 * @param resetNanos nanoseconds until the window is empty again ("fully replenished")
 */
record WindowState(long limit, long used, Duration window, long resetNanos) {

    /**
     * @return what is left of the limit, never below zero
     */
    long remaining() {
        return Math.max(0, limit - used);
    }

    /**
     * @return {@link #resetNanos()} rounded up to whole milliseconds
     */
    long resetMillis() {
        return ceilMillis(resetNanos);
    }

    /**
     * @param nanos a non-negative duration in nanoseconds
     * @return the duration rounded up to whole milliseconds
     */
    static long ceilMillis(long nanos) {
        return nanos <= 0 ? 0 : (nanos + 999_999) / 1_000_000;
    }
}
