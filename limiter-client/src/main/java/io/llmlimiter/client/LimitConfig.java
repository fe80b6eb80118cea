package io.llmlimiter.client;

import io.llmlimiter.client.internal.ConfigJson;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The budget of one target: any list of limits, a concurrency cap, the lease time-to-live, the
 * accounting and the retry settings. Configs live in Redis; the scripts read them on every call,
 * so a change applies to every client at once.
 *
 * <p>Built with {@link #builder(Target)}; {@code build()} copies, so a config never changes.
 * This class is immutable and thread-safe.
 */
public final class LimitConfig {

    /** The most concurrent leases a target may allow. */
    public static final int MAX_CONCURRENT = 1_000_000;

    /**
     * The default delivery margin, 250 ms: sized for calls over the internet, the usual spread
     * between a call's admission in Redis and its arrival at the provider (HTTP client queueing,
     * connection setup, TLS, network). See {@link Builder#deliveryMargin(Duration)}.
     */
    public static final Duration DEFAULT_DELIVERY_MARGIN = Duration.ofMillis(250);

    /** The longest delivery margin a target may have. */
    public static final Duration MAX_DELIVERY_MARGIN = Duration.ofSeconds(60);

    private final Target target;
    private final List<Limit> limits;
    private final List<Budget> budgets;
    private final ModelPrice prices;
    private final int maxConcurrent;
    private final Duration leaseTtl;
    private final Duration deliveryMargin;
    private final Accounting accounting;
    private final RetrySettings retry;
    private final boolean autoCreated;
    private final FairShare fairShare;

    private LimitConfig(Builder b) {
        this.target = b.target;
        this.limits = List.copyOf(b.limits);
        this.budgets = List.copyOf(b.budgets);
        this.prices = b.prices;
        this.maxConcurrent = b.maxConcurrent;
        this.leaseTtl = b.leaseTtl;
        this.deliveryMargin = b.deliveryMargin;
        this.accounting = b.accounting == null ? Accounting.defaultFor(b.target.provider()) : b.accounting;
        this.retry = b.retry;
        this.autoCreated = b.autoCreated;
        this.fairShare = b.fairShare;
    }

    /**
     * @param target the target the config is for
     * @return a builder with the defaults: no limits, unlimited concurrency, 60 s leases, a 250 ms
     *     delivery margin, the provider family's accounting and the seed's retry settings
     */
    public static Builder builder(Target target) {
        return new Builder(target);
    }

    /**
     * The conservative config an unknown target gets when nobody has configured it:
     * 10 requests per minute, one call at a time.
     *
     * @param target the target
     * @return the config
     */
    public static LimitConfig conservativeDefault(Target target) {
        return builder(target).limit(new Limit(Resource.REQUESTS, 10, Duration.ofMinutes(1))).maxConcurrent(1).build();
    }

    /**
     * Parses a config from JSON ({@code limits} list or the seed's {@code requests_per_minute}).
     *
     * @param json the JSON text
     * @return the config
     * @throws IllegalArgumentException naming the bad field
     */
    public static LimitConfig fromJson(String json) {
        return ConfigJson.parse(json, null);
    }

    /** @return the config as JSON, the form stored in Redis and served by the admin API */
    public String toJson() {
        return ConfigJson.write(this);
    }

    /**
     * @return a builder holding this config's values, except {@link #autoCreated()}: a config
     *     someone edits and writes is theirs
     */
    public Builder toBuilder() {
        Builder b = new Builder(target);
        b.limits.addAll(limits);
        b.budgets.addAll(budgets);
        b.prices = prices;
        b.maxConcurrent = maxConcurrent;
        b.leaseTtl = leaseTtl;
        b.deliveryMargin = deliveryMargin;
        b.accounting = accounting;
        b.retry = retry;
        b.fairShare = fairShare;
        return b;
    }

    /** @return the target */
    public Target target() {
        return target;
    }

    /** @return the limits, in the order given */
    public List<Limit> limits() {
        return limits;
    }

    /** @return the dollar budgets, in the order given (empty: none) */
    public List<Budget> budgets() {
        return budgets;
    }

    /**
     * @return this target's prices when the config overrides the price table, else null (the
     *     client's price table prices the target's model)
     */
    public ModelPrice prices() {
        return prices;
    }

    /** @return the most leases held at once, 0 for no cap */
    public int maxConcurrent() {
        return maxConcurrent;
    }

    /** @return how long a lease lives without renewal (a crashed worker's permit frees after it) */
    public Duration leaseTtl() {
        return leaseTtl;
    }

    /**
     * @return how much longer than its window every window of this target counts an admission, to
     *     absorb the delay between admission in Redis and arrival at the provider
     */
    public Duration deliveryMargin() {
        return deliveryMargin;
    }

    /** @return how finished calls are counted */
    public Accounting accounting() {
        return accounting;
    }

    /** @return the retry settings */
    public RetrySettings retry() {
        return retry;
    }

    /**
     * @return whether a client wrote this config by itself because the target had none in Redis
     *     (the fleet default or the conservative default), not someone who configured the target;
     *     {@code "source": "default"} in JSON
     */
    public boolean autoCreated() {
        return autoCreated;
    }

    /**
     * @return how the budget is shared among tenants and priority classes (JSON {@code fair_share}),
     *     or null when it is not: calls wait in arrival order, whoever they are for
     */
    public FairShare fairShare() {
        return fairShare;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LimitConfig c && toJson().equals(c.toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        String all = Limit.formatAll(limits);
        for (Budget b : budgets) {
            all = all.isEmpty() ? b.toString() : all + "," + b;
        }
        return target + " " + all + " max_concurrent=" + maxConcurrent;
    }

    /** Builds a {@link LimitConfig}; each setter validates its value. Not thread-safe. */
    public static final class Builder {
        private final Target target;
        private final List<Limit> limits = new ArrayList<>();
        private final List<Budget> budgets = new ArrayList<>();
        private ModelPrice prices;
        private int maxConcurrent;
        private Duration leaseTtl = Duration.ofSeconds(60);
        private Duration deliveryMargin = DEFAULT_DELIVERY_MARGIN;
        private Accounting accounting;
        private RetrySettings retry = RetrySettings.DEFAULTS;
        private boolean autoCreated;
        private FairShare fairShare;

        private Builder(Target target) {
            this.target = Objects.requireNonNull(target, "target must not be null");
        }

        /**
         * @param limit a limit to add
         * @return this builder
         */
        public Builder limit(Limit limit) {
            limits.add(Objects.requireNonNull(limit, "limit must not be null"));
            return this;
        }

        /**
         * @param compact limits in the compact text form, e.g. {@code requests=500/60s,tokens=30000/60s};
         *     dollar budgets may be among them ({@code usd=50/1d}, {@code usd=1000/month})
         * @return this builder, with these limits (and budgets, if any are given) replacing any set before
         */
        public Builder limits(String compact) {
            List<Limit> ls = new ArrayList<>();
            List<Budget> bs = new ArrayList<>();
            if (compact != null && !compact.isBlank()) {
                for (String part : compact.split(",")) {
                    if (part.trim().startsWith("usd=")) {
                        bs.add(Budget.parse(part));
                    } else {
                        ls.add(Limit.parse(part));
                    }
                }
            }
            if (!bs.isEmpty()) {
                budgets(bs);
            }
            return limits(ls);
        }

        /**
         * @param budget a dollar budget to add
         * @return this builder
         */
        public Builder budget(Budget budget) {
            budgets.add(Budget.requireNonNull(budget));
            return this;
        }

        /**
         * @param all the dollar budgets, replacing any set before
         * @return this builder
         */
        public Builder budgets(List<Budget> all) {
            List<Budget> copy = List.copyOf(all);
            budgets.clear();
            budgets.addAll(copy);
            return this;
        }

        /**
         * Overrides the price table for this target (a private deployment, a negotiated price, a
         * model the table does not know).
         *
         * @param prices the target's prices, or null to use the client's price table
         * @return this builder
         */
        public Builder prices(ModelPrice prices) {
            this.prices = prices;
            return this;
        }

        /**
         * @param all the limits, replacing any set before
         * @return this builder
         */
        public Builder limits(List<Limit> all) {
            List<Limit> copy = List.copyOf(all);
            limits.clear();
            limits.addAll(copy);
            return this;
        }

        /**
         * @param max the most leases held at once, 0 for no cap
         * @return this builder
         */
        public Builder maxConcurrent(int max) {
            if (max < 0 || max > MAX_CONCURRENT) {
                throw new IllegalArgumentException("max_concurrent must be between 0 and " + MAX_CONCURRENT
                        + ", got " + max);
            }
            this.maxConcurrent = max;
            return this;
        }

        /**
         * @param ttl the lease time-to-live, 100 ms to 24 h
         * @return this builder
         */
        public Builder leaseTtl(Duration ttl) {
            Objects.requireNonNull(ttl, "lease_ttl must not be null");
            if (ttl.toMillis() < 100 || ttl.compareTo(Duration.ofHours(24)) > 0) {
                throw new IllegalArgumentException("lease_ttl must be between 100ms and 24h, got " + Durations.format(ttl));
            }
            this.leaseTtl = ttl;
            return this;
        }

        /**
         * Sets the delivery margin: every window of the target counts an admitted call for
         * {@code window + margin}, so a call that reaches the provider up to {@code margin} after
         * its admission still counts in whichever window the provider counts it in. Providers
         * count a call when it arrives; set the margin to the spread between admission and
         * arrival (the default, 250 ms, is sized for calls over the internet; 0 turns it off).
         * Configure the provider's published limits; the margin is the spare.
         *
         * @param margin 0 to 60 s
         * @return this builder
         */
        public Builder deliveryMargin(Duration margin) {
            Objects.requireNonNull(margin, "delivery_margin_ms must not be null");
            if (margin.isNegative() || margin.compareTo(MAX_DELIVERY_MARGIN) > 0) {
                throw new IllegalArgumentException("delivery_margin_ms must be between 0 and "
                        + MAX_DELIVERY_MARGIN.toMillis() + ", got " + margin.toMillis());
            }
            this.deliveryMargin = Duration.ofMillis(margin.toMillis());
            return this;
        }

        /**
         * @param accounting how finished calls are counted
         * @return this builder
         */
        public Builder accounting(Accounting accounting) {
            this.accounting = Objects.requireNonNull(accounting, "accounting must not be null");
            return this;
        }

        /**
         * @param retry the retry settings
         * @return this builder
         */
        public Builder retry(RetrySettings retry) {
            this.retry = Objects.requireNonNull(retry, "retry must not be null");
            return this;
        }

        /**
         * Marks a config a client writes by itself for a target that has none (see
         * {@link LimitConfig#autoCreated()}); configs people write leave it false.
         *
         * @param autoCreated whether the config was written by default
         * @return this builder
         */
        public Builder autoCreated(boolean autoCreated) {
            this.autoCreated = autoCreated;
            return this;
        }

        /**
         * @param share how the budget is shared among tenants and priority classes, or null for
         *     arrival order (the default)
         * @return this builder
         */
        public Builder fairShare(FairShare share) {
            this.fairShare = share;
            return this;
        }

        /**
         * @return the config
         * @throws IllegalArgumentException when no limit and no concurrency cap is set
         */
        public LimitConfig build() {
            if (limits.isEmpty() && maxConcurrent == 0 && budgets.isEmpty()) {
                throw new IllegalArgumentException("limits must hold at least one limit (or set max_concurrent)");
            }
            if (limits.size() > 32) {
                throw new IllegalArgumentException("limits must hold at most 32 limits, got " + limits.size());
            }
            if (budgets.size() > 8) {
                throw new IllegalArgumentException("budgets must hold at most 8 budgets, got " + budgets.size());
            }
            return new LimitConfig(this);
        }
    }
}
