package io.llmlimiter.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Configuration and inspection of targets, shared by every client through Redis. A config
 * written here applies to every client's next acquire, without a restart and without wiping
 * the current window state. Implementations are thread-safe.
 */
public interface LimiterAdmin {

    /**
     * @param target a target
     * @return its config, or empty when it has none
     */
    Optional<LimitConfig> config(Target target);

    /**
     * Creates or replaces a target's config; every client applies it on its next acquire. What the
     * windows hold is kept: a lowered or raised limit (requests, tokens, input or output tokens)
     * counts the calls already in its window. A window added longer than every window before it
     * counts the history the request log still holds, which covers the longest window configured
     * before the change and nothing older: calls admitted before that are not in it. Limits learned
     * from the provider are kept for limits that stay the same.
     *
     * @param config the config
     */
    void putConfig(LimitConfig config);

    /**
     * Writes a config only if the target has none.
     *
     * @param config the config
     * @return whether it was written
     */
    boolean putConfigIfAbsent(LimitConfig config);

    /**
     * Removes a target's config; its next acquire falls back to the default config.
     *
     * @param target a target
     * @return whether it had one
     */
    boolean deleteConfig(Target target);

    /** @return every target that has a config */
    List<Target> targets();

    /**
     * @return the config unknown targets get, or empty for the built-in
     *     {@link LimitConfig#conservativeDefault(Target)}
     */
    Optional<LimitConfig> defaultConfig();

    /**
     * Sets the config unknown targets get (its target names are ignored).
     *
     * @param config the default config
     */
    void putDefaultConfig(LimitConfig config);

    /**
     * @param target a target
     * @return its usage right now
     */
    TargetUsage usage(Target target);

    /**
     * @param target a target
     * @return its counters: {@code admitted}, {@code refused_<reason>}, {@code completed},
     *     {@code provider_429}, {@code retries}, token totals
     */
    Map<String, Long> stats(Target target);

    /**
     * @param target a target
     * @return its tenants' admitted requests and tokens, shares against weights and waiting
     *     callers (on a target that shares fairly), and their spend this UTC day and month, most
     *     tokens first, then most spend; empty when nothing was admitted lately and nothing spent
     *     this month
     */
    default java.util.List<TenantUsage> tenants(Target target) {
        return java.util.List.of();
    }

    /**
     * Reads many targets at once: each one's config, usage, counters, recent waits and tenants. A
     * Redis-backed admin sends every read of every target together (one pipelined batch, then one
     * more for the tenants of the targets that share fairly or spent this month) and waits once
     * per batch, so the cost does not grow by a round trip per target.
     *
     * @param targets the targets to read
     * @return a reading of each target that has a config, in the order given
     */
    default List<TargetReading> read(List<Target> targets) {
        List<TargetReading> out = new ArrayList<>();
        for (Target t : targets) {
            config(t).ifPresent(c -> out.add(new TargetReading(c, usage(t), stats(t), TargetReading.Waits.NONE,
                    tenants(t))));
        }
        return out;
    }

    /**
     * Forgets a target's window state (request log, token sums, cooldown, waiting line); the
     * config, the stats and the leases of running calls stay.
     *
     * @param target a target
     */
    void reset(Target target);
}
