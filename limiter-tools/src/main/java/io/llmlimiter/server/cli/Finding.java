package io.llmlimiter.server.cli;

import java.time.Duration;

/**
 * One limit the probe observed: an amount per window, where it was learned, and whether it is
 * only a lower bound (the budget of calls ran out before the provider refused). This record is
 * immutable and thread-safe.
 *
 * @param amount the most allowed in any window
 * @param window the window length
 * @param source {@code headers} or {@code 429s}
 * @param lowerBound whether the real limit may be higher
 */
public record Finding(long amount, Duration window, String source, boolean lowerBound) {
}
