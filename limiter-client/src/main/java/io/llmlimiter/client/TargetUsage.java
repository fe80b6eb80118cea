package io.llmlimiter.client;

import java.time.Instant;
import java.util.List;

/**
 * A target's usage right now, read from Redis. This class is immutable and thread-safe.
 *
 * @param target the target
 * @param at Redis server time of the reading
 * @param inFlight leases held now
 * @param waiting callers waiting in line
 * @param cooldownUntil end of the cooldown after a provider 429, or null
 * @param windows usage of each configured limit
 */
public record TargetUsage(Target target, Instant at, long inFlight, long waiting, Instant cooldownUntil,
                          List<WindowUsage> windows) {

    /** Copies the list. */
    public TargetUsage {
        windows = List.copyOf(windows);
    }

    /**
     * Usage of one limit. Immutable and thread-safe.
     *
     * @param limit the limit
     * @param used the amount in the sliding window ending now
     */
    public record WindowUsage(Limit limit, long used) {
    }
}
