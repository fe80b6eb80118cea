package io.llmlimiter.client;

import java.time.Duration;
import java.util.Objects;

/**
 * The retry settings of a target, read live from its config by {@code execute}. Rate-limit
 * errors wait twice as long as other retryable errors. This class is immutable and thread-safe.
 *
 * @param maxRetries retries after the first attempt, 0 to 100
 * @param baseDelay the first backoff delay, up to 1 hour
 * @param maxDelay the longest single backoff delay, at least {@code baseDelay}
 * @param deadline the most time one {@code execute} may take, retries included
 */
public record RetrySettings(int maxRetries, Duration baseDelay, Duration maxDelay, Duration deadline) {

    /** The seed's defaults: 3 retries from 2 s, at most 60 s per wait, 5 minutes in all. */
    public static final RetrySettings DEFAULTS =
            new RetrySettings(3, Duration.ofSeconds(2), Duration.ofSeconds(60), Duration.ofMinutes(5));

    /** Validates the settings, naming the bad field. */
    public RetrySettings {
        Objects.requireNonNull(baseDelay, "base_retry_delay must not be null");
        Objects.requireNonNull(maxDelay, "max_retry_delay must not be null");
        Objects.requireNonNull(deadline, "retry_deadline must not be null");
        if (maxRetries < 0 || maxRetries > 100) {
            throw new IllegalArgumentException("max_retries must be between 0 and 100, got " + maxRetries);
        }
        if (baseDelay.isNegative() || baseDelay.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("base_retry_delay must be between 0 and 3600 seconds, got " + baseDelay);
        }
        if (maxDelay.compareTo(baseDelay) < 0 || maxDelay.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("max_retry_delay must be between base_retry_delay and 3600 seconds, got "
                    + maxDelay);
        }
        if (deadline.isNegative() || deadline.isZero() || deadline.compareTo(Duration.ofDays(1)) > 0) {
            throw new IllegalArgumentException("retry_deadline must be between 0 and 86400 seconds, got " + deadline);
        }
    }
}
