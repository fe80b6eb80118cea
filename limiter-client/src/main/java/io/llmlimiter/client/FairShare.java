package io.llmlimiter.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How a target's budget is shared among tenants and priority classes, fleet-wide: while calls
 * wait, the next admission goes to the highest priority class, and within it to the waiting
 * tenant that has received the least service (input + output tokens divided by its weight, the
 * Virtual Token Counter). A tenant below its reserved minimum goes first; a tenant at its cap waits
 * until the cap frees; a class not served for {@link #aging()} times its rank minus one goes first
 * once. Tenants not named here share by the {@code default} entry each (or weight 1). This class is
 * immutable and thread-safe.
 *
 * <pre>{@code
 * FairShare.builder()
 *     .tenant("search", TenantShare.weight(5).reserve(0.2))
 *     .tenant("etl", TenantShare.weight(1).cap("tokens=20000/60s"))
 *     .build();
 * }</pre>
 */
public final class FairShare {

    /** Tenants named in one config, at most. */
    public static final int MAX_NAMED = 256;
    /** Tenants with a reserve in one config, at most (each is checked when the line is ordered). */
    public static final int MAX_RESERVED = 16;
    /** Default cardinality cap: tenants beyond it share the counter of {@code other}. */
    public static final int DEFAULT_MAX_TENANTS = 1000;
    /** Default aging: a class not served this long (times its rank minus one) goes first once. */
    public static final Duration DEFAULT_AGING = Duration.ofSeconds(10);

    private final Map<String, TenantShare> tenants;
    private final List<Priority> order;
    private final Duration aging;
    private final int maxTenants;

    private FairShare(Builder b) {
        this.tenants = Collections.unmodifiableMap(new LinkedHashMap<>(b.tenants));
        this.order = List.copyOf(b.order);
        this.aging = b.aging;
        this.maxTenants = b.maxTenants;
    }

    /** @return a builder with no named tenants, the classes in their natural order and the default aging */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the named tenants' shares, {@code default} included when given, in the order given */
    public Map<String, TenantShare> tenants() {
        return tenants;
    }

    /**
     * @param tenant a tenant's name
     * @return its share: its own, else the {@code default} entry, else {@link TenantShare#EQUAL}
     */
    public TenantShare shareOf(String tenant) {
        TenantShare s = tenants.get(tenant);
        if (s == null) {
            s = tenants.getOrDefault(Tenant.DEFAULT_NAME, TenantShare.EQUAL);
        }
        return s;
    }

    /** @return the priority classes, first served first */
    public List<Priority> order() {
        return order;
    }

    /** @return how long a class may go unserved (times its rank minus one) before it goes first once; zero = never */
    public Duration aging() {
        return aging;
    }

    /** @return tenants counted apart at most; later ones share the counter of {@code other} */
    public int maxTenants() {
        return maxTenants;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FairShare f && tenants.equals(f.tenants) && order.equals(f.order) && aging.equals(f.aging)
                && maxTenants == f.maxTenants;
    }

    @Override
    public int hashCode() {
        return Objects.hash(tenants, order, aging, maxTenants);
    }

    /** Builds a {@link FairShare}. Not thread-safe. */
    public static final class Builder {
        private final Map<String, TenantShare> tenants = new LinkedHashMap<>();
        private List<Priority> order = List.of(Priority.values());
        private Duration aging = DEFAULT_AGING;
        private int maxTenants = DEFAULT_MAX_TENANTS;

        private Builder() {
        }

        /**
         * @param name a tenant's name, or {@code default} for every tenant not named
         * @param share its share
         * @return this builder
         */
        public Builder tenant(String name, TenantShare share) {
            Tenant.checkName(name);
            if (tenants.size() >= MAX_NAMED && !tenants.containsKey(name)) {
                throw new IllegalArgumentException("tenants must name at most " + MAX_NAMED + " tenants");
            }
            tenants.put(name, Objects.requireNonNull(share, "share must not be null"));
            return this;
        }

        /**
         * @param classes every priority class once, first served first
         * @return this builder
         */
        public Builder order(List<Priority> classes) {
            List<Priority> copy = new ArrayList<>(Objects.requireNonNull(classes, "priorities.order must not be null"));
            if (copy.size() != Priority.values().length || copy.stream().distinct().count() != copy.size()) {
                throw new IllegalArgumentException("priorities.order must name interactive, batch and background once each, got "
                        + copy.stream().map(p -> p == null ? "null" : p.label()).toList());
            }
            this.order = copy;
            return this;
        }

        /**
         * @param aging how long a class may go unserved (times its rank minus one) before it goes
         *     first once (0 to 1 hour; zero = strict order)
         * @return this builder
         */
        public Builder aging(Duration aging) {
            if (aging == null || aging.isNegative() || aging.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("priorities.aging_ms must be between 0 and 3600000, got "
                        + (aging == null ? null : aging.toMillis()));
            }
            this.aging = Duration.ofMillis(aging.toMillis());
            return this;
        }

        /**
         * @param max tenants counted apart at most (1 to 100000); later ones share the counter of {@code other}
         * @return this builder
         */
        public Builder maxTenants(int max) {
            if (max < 1 || max > 100_000) {
                throw new IllegalArgumentException("max_tenants must be between 1 and 100000, got " + max);
            }
            this.maxTenants = max;
            return this;
        }

        /**
         * @return the fair share
         * @throws IllegalArgumentException when the reserves add up to more than 100%, or the
         *     default entry has a reserve (every unnamed tenant would hold one)
         */
        public FairShare build() {
            double sum = 0;
            int reserved = 0;
            for (Map.Entry<String, TenantShare> e : tenants.entrySet()) {
                sum += e.getValue().reserve();
                reserved += e.getValue().reserve() > 0 ? 1 : 0;
            }
            if (reserved > MAX_RESERVED) {
                throw new IllegalArgumentException("tenants: at most " + MAX_RESERVED + " tenants may have a reserve, got "
                        + reserved);
            }
            TenantShare d = tenants.get(Tenant.DEFAULT_NAME);
            if (d != null && d.reserve() > 0) {
                throw new IllegalArgumentException("tenants.default.reserve must be 0: every unnamed tenant would hold it");
            }
            if (sum > 1.0 + 1e-9) {
                throw new IllegalArgumentException("tenants: the reserves add up to " + Math.round(sum * 1000) / 10.0
                        + "%, at most 100% is possible");
            }
            return new FairShare(this);
        }
    }
}
