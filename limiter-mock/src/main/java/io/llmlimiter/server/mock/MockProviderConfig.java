package io.llmlimiter.server.mock;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How the mock provider limits and answers: a request window, a token window (either may be
 * absent), a concurrency cap, a simulated latency, an arrival delay (the network between a
 * client's send and the provider's count), the rate-limit header style and how many completion
 * tokens an answer uses. Built with {@link #builder()}; {@link #defaults()} has no limits
 * and no latency. This class is immutable and thread-safe.
 */
public final class MockProviderConfig {

    /** Completion tokens as a share of {@code max_tokens} when nothing else is configured. */
    public static final double DEFAULT_COMPLETION_RATIO = 0.6;
    /** Tokens charged for the completion when a request does not say {@code max_tokens}, as OpenAI does. */
    public static final long DEFAULT_MAX_TOKENS = 256;

    private final WindowLimit requestLimit;
    private final WindowLimit tokenLimit;
    private final int maxConcurrency;
    private final Duration latency;
    private final Duration latencyJitter;
    private final Duration arrivalDelay;
    private final HeaderStyle headerStyle;
    private final double completionRatio;
    private final long completionTokens;
    private final long defaultMaxTokens;
    private final long maxOutputTokens;

    private MockProviderConfig(Builder b) {
        this.requestLimit = b.requestLimit;
        this.tokenLimit = b.tokenLimit;
        this.maxConcurrency = b.maxConcurrency;
        this.latency = b.latency;
        this.latencyJitter = b.latencyJitter;
        this.arrivalDelay = b.arrivalDelay;
        this.headerStyle = b.headerStyle;
        this.completionRatio = b.completionRatio;
        this.completionTokens = b.completionTokens;
        this.defaultMaxTokens = b.defaultMaxTokens;
        this.maxOutputTokens = b.maxOutputTokens;
    }

    /** @return a new builder with the defaults: no limits, no latency, native headers, 60% completions */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a configuration without limits or latency */
    public static MockProviderConfig defaults() {
        return builder().build();
    }

    /** @return a builder holding this configuration's values, to derive a changed copy */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.requestLimit = requestLimit;
        b.tokenLimit = tokenLimit;
        b.maxConcurrency = maxConcurrency;
        b.latency = latency;
        b.latencyJitter = latencyJitter;
        b.arrivalDelay = arrivalDelay;
        b.headerStyle = headerStyle;
        b.completionRatio = completionRatio;
        b.completionTokens = completionTokens;
        b.defaultMaxTokens = defaultMaxTokens;
        b.maxOutputTokens = maxOutputTokens;
        return b;
    }

    /** @return the request window, if requests are limited */
    public Optional<WindowLimit> requestLimit() {
        return Optional.ofNullable(requestLimit);
    }

    /** @return the token window, if tokens are limited */
    public Optional<WindowLimit> tokenLimit() {
        return Optional.ofNullable(tokenLimit);
    }

    /** @return the most requests served at once, 0 for unlimited */
    public int maxConcurrency() {
        return maxConcurrency;
    }

    /** @return the base latency applied to every admitted request */
    public Duration latency() {
        return latency;
    }

    /** @return the half-width of the uniform jitter around {@link #latency()} */
    public Duration latencyJitter() {
        return latencyJitter;
    }

    /**
     * @return the longest delay between a request reaching the server and its count in the
     *     windows; each request draws its own delay uniformly from zero to this
     */
    public Duration arrivalDelay() {
        return arrivalDelay;
    }

    /**
     * Draws one arrival delay uniformly from {@code [0, arrivalDelay]}.
     *
     * @return the delay in nanoseconds
     */
    public long sampleArrivalDelayNanos() {
        long max = arrivalDelay.toNanos();
        return max == 0 ? 0 : ThreadLocalRandom.current().nextLong(max + 1);
    }

    /** @return which rate-limit headers are sent */
    public HeaderStyle headerStyle() {
        return headerStyle;
    }

    /** @return the share of {@code max_tokens} an answer uses, when no fixed count is set */
    public double completionRatio() {
        return completionRatio;
    }

    /** @return the fixed completion token count, or 0 when {@link #completionRatio()} applies */
    public long completionTokens() {
        return completionTokens;
    }

    /** @return the tokens charged for the completion when a request has no {@code max_tokens} */
    public long defaultMaxTokens() {
        return defaultMaxTokens;
    }

    /**
     * @return the most {@code max_tokens} one call may ask for (the model's output cap: larger asks
     *     get HTTP 400 naming {@code max_tokens}), or 0 for no cap
     */
    public long maxOutputTokens() {
        return maxOutputTokens;
    }

    /**
     * Completion tokens an answer uses: {@code min(maxTokens, fixed)} or
     * {@code min(maxTokens, max(1, floor(maxTokens * ratio)))}.
     *
     * @param maxTokens the request's {@code max_tokens}, at least 1
     * @return the completion token count, between 1 and {@code maxTokens}
     */
    public long completionTokensFor(long maxTokens) {
        long wanted = completionTokens > 0
                ? completionTokens
                : Math.max(1, (long) Math.floor(maxTokens * completionRatio));
        return Math.min(maxTokens, wanted);
    }

    /**
     * Draws one latency uniformly from {@code latency ± jitter}, never below zero.
     *
     * @return the latency in nanoseconds
     */
    public long sampleLatencyNanos() {
        long base = latency.toNanos();
        long jitter = latencyJitter.toNanos();
        if (jitter == 0) {
            return base;
        }
        return Math.max(0, base + ThreadLocalRandom.current().nextLong(-jitter, jitter + 1));
    }

    @Override
    public String toString() {
        return "MockProviderConfig{requests=" + describe(requestLimit) + ", tokens=" + describe(tokenLimit)
                + ", maxConcurrency=" + maxConcurrency + ", latency=" + latency.toMillis() + "ms±"
                + latencyJitter.toMillis() + "ms, arrivalDelay=0.." + arrivalDelay.toMillis() + "ms, headerStyle=" + headerStyle + ", completion="
                + (completionTokens > 0 ? completionTokens + " tokens" : completionRatio + " of max_tokens")
                + ", defaultMaxTokens=" + defaultMaxTokens
                + (maxOutputTokens > 0 ? ", maxOutputTokens=" + maxOutputTokens : "") + "}";
    }

    private static String describe(WindowLimit l) {
        return l == null ? "unlimited" : l.limit() + "/" + l.window().toMillis() + "ms";
    }

    /** Collects a {@link MockProviderConfig}; each setter validates and names the bad field. Not thread-safe. */
    public static final class Builder {

        private WindowLimit requestLimit;
        private WindowLimit tokenLimit;
        private int maxConcurrency;
        private Duration latency = Duration.ZERO;
        private Duration latencyJitter = Duration.ZERO;
        private Duration arrivalDelay = Duration.ZERO;
        private HeaderStyle headerStyle = HeaderStyle.NATIVE;
        private double completionRatio = DEFAULT_COMPLETION_RATIO;
        private long completionTokens;
        private long defaultMaxTokens = DEFAULT_MAX_TOKENS;
        private long maxOutputTokens;

        private Builder() {
        }

        /**
         * Limits requests to {@code limit} in any sliding {@code window}.
         *
         * @param limit at least 1
         * @param window at least 1 ms
         * @return this builder
         */
        public Builder requests(long limit, Duration window) {
            this.requestLimit = window("requestLimit", "requestWindow", limit, window);
            return this;
        }

        /** @return this builder, with requests unlimited */
        public Builder noRequestLimit() {
            this.requestLimit = null;
            return this;
        }

        /**
         * Limits tokens (prompt plus {@code max_tokens}, charged at arrival) to {@code limit} in any
         * sliding {@code window}.
         *
         * @param limit at least 1
         * @param window at least 1 ms
         * @return this builder
         */
        public Builder tokens(long limit, Duration window) {
            this.tokenLimit = window("tokenLimit", "tokenWindow", limit, window);
            return this;
        }

        /** @return this builder, with tokens unlimited */
        public Builder noTokenLimit() {
            this.tokenLimit = null;
            return this;
        }

        /**
         * @param maxConcurrency the most requests served at once, 0 for unlimited
         * @return this builder
         */
        public Builder maxConcurrency(int maxConcurrency) {
            if (maxConcurrency < 0) {
                throw new IllegalArgumentException("maxConcurrency must be 0 (unlimited) or more, got " + maxConcurrency);
            }
            this.maxConcurrency = maxConcurrency;
            return this;
        }

        /**
         * @param latency the fixed latency of every admitted request, without jitter
         * @return this builder
         */
        public Builder latency(Duration latency) {
            return latency(latency, Duration.ZERO);
        }

        /**
         * @param latency the base latency of every admitted request
         * @param jitter the half-width of a uniform jitter around it, e.g. 50 ms ± 20 ms
         * @return this builder
         */
        public Builder latency(Duration latency, Duration jitter) {
            this.latency = nonNegative("latency", latency);
            this.latencyJitter = nonNegative("latencyJitter", jitter);
            return this;
        }

        /**
         * Makes the provider strict about time the way real ones are: a request is counted in the
         * windows when it arrives, and each one arrives a random {@code 0..max} after the client sent
         * it (uniform), as over a network whose delay varies. The delay passes before the request
         * is admitted or refused, so a limiter that counts at send time sees windows shift under it.
         *
         * @param max the longest delay, zero (the default) for none
         * @return this builder
         */
        public Builder arrivalDelay(Duration max) {
            this.arrivalDelay = nonNegative("arrivalDelay", max);
            return this;
        }

        /**
         * @param headerStyle which rate-limit headers to send
         * @return this builder
         */
        public Builder headerStyle(HeaderStyle headerStyle) {
            this.headerStyle = Objects.requireNonNull(headerStyle, "headerStyle must not be null");
            return this;
        }

        /**
         * Answers use {@code min(max_tokens, max(1, floor(max_tokens * ratio)))} completion tokens.
         *
         * @param ratio greater than 0 and at most 1
         * @return this builder
         */
        public Builder completionRatio(double ratio) {
            if (!(ratio > 0 && ratio <= 1)) {
                throw new IllegalArgumentException("completionRatio must be greater than 0 and at most 1, got " + ratio);
            }
            this.completionRatio = ratio;
            this.completionTokens = 0;
            return this;
        }

        /**
         * Answers use {@code min(max_tokens, tokens)} completion tokens.
         *
         * @param tokens at least 1
         * @return this builder
         */
        public Builder completionTokens(long tokens) {
            if (tokens < 1) {
                throw new IllegalArgumentException("completionTokens must be at least 1, got " + tokens);
            }
            this.completionTokens = tokens;
            return this;
        }

        /**
         * @param tokens tokens charged for the completion when a request has no {@code max_tokens}, at least 1
         * @return this builder
         */
        public Builder defaultMaxTokens(long tokens) {
            if (tokens < 1) {
                throw new IllegalArgumentException("defaultMaxTokens must be at least 1, got " + tokens);
            }
            this.defaultMaxTokens = tokens;
            return this;
        }

        /**
         * @param tokens the most {@code max_tokens} one call may ask for, as a model's output cap
         *     (larger asks are answered 400 naming {@code max_tokens}); 0 for no cap
         * @return this builder
         */
        public Builder maxOutputTokens(long tokens) {
            if (tokens < 0) {
                throw new IllegalArgumentException("maxOutputTokens must be zero or more, got " + tokens);
            }
            this.maxOutputTokens = tokens;
            return this;
        }

        /** @return the configuration */
        public MockProviderConfig build() {
            return new MockProviderConfig(this);
        }

        private static WindowLimit window(String limitField, String windowField, long limit, Duration window) {
            if (limit < 1) {
                throw new IllegalArgumentException(limitField + " must be at least 1, got " + limit);
            }
            if (window == null || window.toMillis() < 1) {
                throw new IllegalArgumentException(windowField + " must be at least 1ms, got " + window);
            }
            return new WindowLimit(limit, window);
        }

        private static Duration nonNegative(String field, Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException(field + " must be zero or more, got " + d);
            }
            return d;
        }
    }
}
