package io.llmlimiter.client;

import java.time.Duration;
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
 * @param deliveryMargin how much longer than its window every window counts an admission (the
 *     delay between admission and the provider's door)
 * @param windows usage of each configured limit
 */
public record TargetUsage(Target target, Instant at, long inFlight, long waiting, Instant cooldownUntil,
                          Duration deliveryMargin, List<WindowUsage> windows) {

    /** Copies the list. */
    public TargetUsage {
        windows = List.copyOf(windows);
    }

    /**
     * Usage of one limit. Immutable and thread-safe.
     *
     * @param limit the limit as configured
     * @param used the amount in the sliding window (window + delivery margin) ending now
     * @param effective the amount admissions are checked against now: the configured amount, or
     *     less when learned from the provider
     * @param reason why {@code effective} differs from the configured amount: {@code ""} (it does
     *     not), {@code "429"} (learned from provider refusals) or {@code "headers"} (the provider's
     *     stated limit)
     */
    public record WindowUsage(Limit limit, long used, long effective, String reason) {

        /** @return true when the effective amount is below the configured one */
        public boolean learned() {
            return !reason.isEmpty();
        }
    }
}
