package io.llmlimiter.client.internal;

import io.llmlimiter.client.Target;

/**
 * Redis key names of one target. All share the hash tag {@code {provider/model}}, so a target
 * lives in one Redis Cluster slot and its scripts stay atomic there. This class is immutable
 * and thread-safe.
 *
 * @param keys the ten keys every script takes, in the order of the scripts' headers
 * @param channel the pub/sub channel on which the target's waiters are woken
 */
public record Keys(String[] keys, String channel) {

    /** The prefix of every key the limiter writes. */
    public static final String PREFIX = "llmlim:";

    private static final String[] SUFFIXES = {"cfg", "log", "st", "leases", "ld", "q", "qx", "stats", "tn", "tc"};

    /** The tag under which the default config for unknown targets is stored. */
    static final String DEFAULT_TAG = "_default";

    /**
     * @param target a target
     * @return its keys
     */
    public static Keys of(Target target) {
        return ofTag(target.toString());
    }

    /**
     * @param tag a hash tag, e.g. a target name or {@code _default}
     * @return the keys under it
     */
    public static Keys ofTag(String tag) {
        String base = PREFIX + "{" + tag + "}:";
        String[] keys = new String[SUFFIXES.length];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = base + SUFFIXES[i];
        }
        return new Keys(keys, base + "wake");
    }

    /** @return the config hash */
    public String config() {
        return keys[0];
    }

    /** @return the stats hash */
    public String stats() {
        return keys[7];
    }

    /** @return the fair-share hash: tenants' counters and admitted totals (see tenants.lua) */
    public String tenants() {
        return keys[8];
    }

    /** @return the tenants' spend of the current UTC month (see usd.lua) */
    public String tenantCosts() {
        return keys[9];
    }

    /**
     * @param configKey a key named like {@code llmlim:{provider/model}:cfg}
     * @return the target it belongs to, or null when it is not a target's config key
     */
    static Target targetOfConfigKey(String configKey) {
        if (!configKey.startsWith(PREFIX + "{") || !configKey.endsWith("}:cfg")) {
            return null;
        }
        String tag = configKey.substring(PREFIX.length() + 1, configKey.length() - "}:cfg".length());
        try {
            return Target.parse(tag);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
