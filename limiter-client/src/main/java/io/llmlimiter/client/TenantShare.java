package io.llmlimiter.client;

import java.util.List;
import java.util.Objects;

/**
 * One tenant's part of a target's budget (see {@link FairShare}). This class is immutable and
 * thread-safe.
 *
 * @param weight its weight against the other tenants' (above 0, at most 1000): backlogged tenants
 *     receive tokens in proportion to their weights
 * @param reserve the share of each of the target's limits it always gets while it has demand
 *     (0 to 1; 0 = none)
 * @param capShare the most of each of the target's limits it may use (above 0 to 1; 1 = no cap
 *     by share)
 * @param capLimits absolute caps, such as {@code tokens=20000/60s} (empty = none)
 */
public record TenantShare(double weight, double reserve, double capShare, List<Limit> capLimits) {

    /** A tenant of weight 1 with no reserve and no cap. */
    public static final TenantShare EQUAL = new TenantShare(1, 0, 1, List.of());

    /** Validates the share, naming the field. */
    public TenantShare {
        if (!(weight > 0 && weight <= 1000)) {
            throw new IllegalArgumentException("weight must be above 0 and at most 1000, got " + weight);
        }
        if (!(reserve >= 0 && reserve <= 1)) {
            throw new IllegalArgumentException("reserve must be between 0 and 1, got " + reserve);
        }
        if (!(capShare > 0 && capShare <= 1)) {
            throw new IllegalArgumentException("cap must be a share above 0 and at most 1, or limits, got " + capShare);
        }
        capLimits = List.copyOf(Objects.requireNonNull(capLimits, "cap limits must not be null"));
        if (capLimits.size() > 8) {
            throw new IllegalArgumentException("cap must hold at most 8 limits, got " + capLimits.size());
        }
        if (reserve > capShare) {
            throw new IllegalArgumentException("reserve " + reserve + " must not be above the cap " + capShare);
        }
    }

    /**
     * @param weight the tenant's weight
     * @return a share of that weight, no reserve, no cap
     */
    public static TenantShare weight(double weight) {
        return new TenantShare(weight, 0, 1, List.of());
    }

    /**
     * @param share the share of each limit always kept for the tenant while it has demand
     * @return this share with that reserve
     */
    public TenantShare reserve(double share) {
        return new TenantShare(weight, share, capShare, capLimits);
    }

    /**
     * @param share the most of each limit the tenant may use
     * @return this share with that cap
     */
    public TenantShare cap(double share) {
        return new TenantShare(weight, reserve, share, capLimits);
    }

    /**
     * @param limits the most the tenant may use, e.g. {@code tokens=20000/60s}
     * @return this share with those caps
     */
    public TenantShare cap(String limits) {
        return new TenantShare(weight, reserve, capShare, Limit.parseAll(limits));
    }
}
