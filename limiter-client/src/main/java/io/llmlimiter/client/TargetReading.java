package io.llmlimiter.client;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One target's config, usage, counters, recent admission waits and tenants, read together by
 * {@link LimiterAdmin#read}. Immutable and thread-safe.
 *
 * @param config the target's config
 * @param usage its usage at the time of the reading
 * @param counters its counters ({@code admitted}, {@code refused_*}, {@code provider_429}, ...)
 * @param waits how long callers recently waited for admission, as the clients report it
 * @param tenants its tenants' admissions, waiting callers and spend (see {@link LimiterAdmin#tenants})
 */
public record TargetReading(LimitConfig config, TargetUsage usage, Map<String, Long> counters, Waits waits,
                            List<TenantUsage> tenants) {

    /** Checks and copies. */
    public TargetReading {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(waits, "waits");
        counters = Map.copyOf(counters);
        tenants = List.copyOf(tenants);
    }

    /** A reading without tenants. */
    public TargetReading(LimitConfig config, TargetUsage usage, Map<String, Long> counters, Waits waits) {
        this(config, usage, counters, waits, List.of());
    }

    /**
     * Admission waits (from the call to acquire to its admission) that clients measured over about
     * the last 15 seconds and publish once a second. Wait times are only known to the clients;
     * each client reports its own percentiles, which combine only approximately: {@code p50} is the
     * median of the clients' medians weighted by their admissions, {@code p99} the highest client's
     * p99 (at least the fleet's p99). Immutable and thread-safe.
     *
     * @param admissions admissions the percentiles cover, over every reporting client
     * @param clients how many clients reported
     * @param p50 the median wait (zero when nothing was reported)
     * @param p99 the 99th percentile wait (zero when nothing was reported)
     */
    public record Waits(long admissions, int clients, Duration p50, Duration p99) {

        /** No client reported. */
        public static final Waits NONE = new Waits(0, 0, Duration.ZERO, Duration.ZERO);

        /** Checks. */
        public Waits {
            Objects.requireNonNull(p50, "p50");
            Objects.requireNonNull(p99, "p99");
        }
    }
}
