package io.llmlimiter.client.retry;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.DoubleSupplier;

/**
 * How often and how long to back off after retryable failures.
 *
 * <p>Immutable and thread-safe; share one instance across calls and keep per-call progress in a
 * {@link RetryState}. Build with {@link #builder()}; every setter validates its argument
 * immediately and names the offending field.
 *
 * <p>Delay for retry {@code n} (1-based): {@code baseDelay * 2^(n-1)}, multiplied by {@code
 * rateLimitMultiplier} for {@link FailureKind#RATE_LIMITED}, capped at {@code maxDelay}, then, with
 * full jitter, drawn uniformly from {@code [0, that)}. A provider hint (Retry-After or a reset
 * header) is a floor applied last, so it may exceed {@code maxDelay}; the {@code deadline} still
 * bounds the total, see {@link RetryState#canRetry(java.time.Instant, Duration)}.
 */
public final class RetryPolicy {

    private static final RetryPolicy DEFAULTS = builder().build();

    private final int maxRetries;
    private final Duration baseDelay;
    private final Duration maxDelay;
    private final Duration deadline;
    private final double rateLimitMultiplier;
    private final boolean fullJitter;

    private RetryPolicy(Builder b) {
        this.maxRetries = b.maxRetries;
        this.baseDelay = b.baseDelay;
        this.maxDelay = b.maxDelay;
        this.deadline = b.deadline;
        this.rateLimitMultiplier = b.rateLimitMultiplier;
        this.fullJitter = b.fullJitter;
    }

    /**
     * The default policy: 3 retries, 2 s base, 60 s cap, 5 min deadline, rate-limit multiplier 2.0,
     * full jitter.
     *
     * @return the shared default policy
     */
    public static RetryPolicy defaults() {
        return DEFAULTS;
    }

    /**
     * A builder initialised with the defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder initialised with this policy's values.
     *
     * @return a new builder
     */
    public Builder toBuilder() {
        return new Builder()
                .maxRetries(maxRetries)
                .baseDelay(baseDelay)
                .maxDelay(maxDelay)
                .deadline(deadline)
                .rateLimitMultiplier(rateLimitMultiplier)
                .fullJitter(fullJitter);
    }

    /**
     * The delay before a retry.
     *
     * @param attempt 1-based retry number (1 for the first retry)
     * @param kind the kind of the failure being retried
     * @param providerHint how long the provider asked to wait; a floor for the result
     * @param random source of uniform values in {@code [0, 1)}, used only for jitter; values
     *     outside that range are clamped
     * @return the delay, never negative
     * @throws IllegalArgumentException if {@code attempt < 1}
     */
    public Duration delayFor(int attempt, FailureKind kind, Optional<Duration> providerHint, DoubleSupplier random) {
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be >= 1: " + attempt);
        }
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(providerHint, "providerHint");
        Objects.requireNonNull(random, "random");
        double multiplier = kind == FailureKind.RATE_LIMITED ? rateLimitMultiplier : 1.0;
        // Double arithmetic cannot overflow here; large attempts just saturate at maxDelay.
        double seconds = seconds(baseDelay) * Math.pow(2, attempt - 1) * multiplier;
        Duration capped = seconds >= seconds(maxDelay) ? maxDelay : ofSeconds(seconds);
        Duration delay = fullJitter ? ofSeconds(seconds(capped) * clamp(random.getAsDouble())) : capped;
        Duration floor = providerHint.filter(h -> !h.isNegative()).orElse(Duration.ZERO);
        return delay.compareTo(floor) >= 0 ? delay : floor;
    }

    /**
     * Maximum number of retries after the first attempt.
     *
     * @return max retries, {@code >= 0}
     */
    public int maxRetries() {
        return maxRetries;
    }

    /**
     * Delay before the first retry of a non-rate-limit failure, before jitter.
     *
     * @return the base delay
     */
    public Duration baseDelay() {
        return baseDelay;
    }

    /**
     * Upper bound on computed backoff (provider hints may exceed it).
     *
     * @return the cap
     */
    public Duration maxDelay() {
        return maxDelay;
    }

    /**
     * Overall time budget for a call including all retries, measured from its first attempt.
     *
     * @return the deadline
     */
    public Duration deadline() {
        return deadline;
    }

    /**
     * Factor applied to backoff for {@link FailureKind#RATE_LIMITED}.
     *
     * @return the multiplier, {@code >= 1}
     */
    public double rateLimitMultiplier() {
        return rateLimitMultiplier;
    }

    /**
     * Whether computed delays are replaced by a uniform draw from {@code [0, delay)}; spreading
     * retries avoids a synchronised stampede when many workers are throttled at once.
     *
     * @return whether full jitter is on
     */
    public boolean fullJitter() {
        return fullJitter;
    }

    /**
     * Describes the settings.
     *
     * @return a readable summary
     */
    @Override
    public String toString() {
        return "RetryPolicy{maxRetries=" + maxRetries + ", baseDelay=" + baseDelay + ", maxDelay=" + maxDelay
                + ", deadline=" + deadline + ", rateLimitMultiplier=" + rateLimitMultiplier
                + ", fullJitter=" + fullJitter + '}';
    }

    private static double seconds(Duration d) {
        return d.getSeconds() + d.getNano() / 1e9;
    }

    private static Duration ofSeconds(double seconds) {
        long whole = (long) Math.floor(seconds);
        long nanos = Math.round((seconds - whole) * 1e9);
        return Duration.ofSeconds(whole, nanos);
    }

    private static double clamp(double value) {
        return Double.isNaN(value) ? 0.0 : Math.max(0.0, Math.min(1.0, value));
    }

    /**
     * Mutable builder for {@link RetryPolicy}; not thread-safe. {@link #build()} copies the current
     * values, so later changes do not affect policies already built.
     */
    public static final class Builder {

        private int maxRetries = 3;
        private Duration baseDelay = Duration.ofSeconds(2);
        private Duration maxDelay = Duration.ofSeconds(60);
        private Duration deadline = Duration.ofMinutes(5);
        private double rateLimitMultiplier = 2.0;
        private boolean fullJitter = true;

        private Builder() {
        }

        /**
         * Sets the maximum number of retries (default 3).
         *
         * @param maxRetries retries after the first attempt, {@code >= 0}
         * @return this builder
         */
        public Builder maxRetries(int maxRetries) {
            if (maxRetries < 0) {
                throw new IllegalArgumentException("maxRetries must be >= 0: " + maxRetries);
            }
            this.maxRetries = maxRetries;
            return this;
        }

        /**
         * Sets the first-retry delay (default 2 s).
         *
         * @param baseDelay non-negative delay
         * @return this builder
         */
        public Builder baseDelay(Duration baseDelay) {
            this.baseDelay = nonNegative(baseDelay, "baseDelay");
            return this;
        }

        /**
         * Sets the cap on computed backoff (default 60 s).
         *
         * @param maxDelay non-negative cap
         * @return this builder
         */
        public Builder maxDelay(Duration maxDelay) {
            this.maxDelay = nonNegative(maxDelay, "maxDelay");
            return this;
        }

        /**
         * Sets the overall deadline for a call and its retries (default 5 min).
         *
         * @param deadline positive duration
         * @return this builder
         */
        public Builder deadline(Duration deadline) {
            Objects.requireNonNull(deadline, "deadline must not be null");
            if (deadline.isZero() || deadline.isNegative()) {
                throw new IllegalArgumentException("deadline must be positive: " + deadline);
            }
            this.deadline = deadline;
            return this;
        }

        /**
         * Sets the backoff factor for rate-limit failures (default 2.0).
         *
         * @param rateLimitMultiplier finite value {@code >= 1.0}
         * @return this builder
         */
        public Builder rateLimitMultiplier(double rateLimitMultiplier) {
            if (!(rateLimitMultiplier >= 1.0) || Double.isInfinite(rateLimitMultiplier)) {
                throw new IllegalArgumentException(
                        "rateLimitMultiplier must be a finite number >= 1.0: " + rateLimitMultiplier);
            }
            this.rateLimitMultiplier = rateLimitMultiplier;
            return this;
        }

        /**
         * Turns full jitter on or off (default on).
         *
         * @param fullJitter whether to randomise delays within {@code [0, computed)}
         * @return this builder
         */
        public Builder fullJitter(boolean fullJitter) {
            this.fullJitter = fullJitter;
            return this;
        }

        /**
         * Creates an immutable policy from the current values.
         *
         * @return the policy
         */
        public RetryPolicy build() {
            return new RetryPolicy(this);
        }

        private static Duration nonNegative(Duration value, String field) {
            Objects.requireNonNull(value, field + " must not be null");
            if (value.isNegative()) {
                throw new IllegalArgumentException(field + " must not be negative: " + value);
            }
            return value;
        }
    }
}
