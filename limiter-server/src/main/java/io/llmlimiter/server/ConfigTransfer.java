package io.llmlimiter.server;

import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Target;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Import and export of all configs at once, through the {@link ConfigStore}'s all-or-nothing
 * commit. Thread-safe (the store serializes).
 */
public final class ConfigTransfer {

    private final ConfigStore store;

    /** @param store the store */
    public ConfigTransfer(ConfigStore store) {
        this.store = store;
    }

    /**
     * Imports configs, all or nothing: either every change is in Redis and the file, or none is.
     *
     * @param set the configs, already validated
     * @param replace whether targets missing from the set are deleted
     * @param source who asks, for the audit log
     * @return counts by outcome: {@code created}, {@code replaced}, {@code deleted}, {@code unchanged}
     */
    public Map<String, Integer> importAll(ConfigSet set, boolean replace, String source) {
        LimiterAdmin admin = store.admin();
        return store.locked(() -> {
            List<ConfigStore.Change> changes = new ArrayList<>();
            Map<String, Integer> counts = new HashMap<>(Map.of("created", 0, "replaced", 0, "deleted", 0, "unchanged", 0));
            ConfigSet next = store.onDiskLocked();
            for (LimitConfig c : set.targets().values()) {
                LimitConfig before = admin.config(c.target()).orElse(null);
                String outcome = before == null ? "created" : c.equals(before) ? "unchanged" : "replaced";
                counts.merge(outcome, 1, Integer::sum);
                if (!outcome.equals("unchanged")) {
                    changes.add(new ConfigStore.Change(c.target(), before, c, "import"));
                }
                next = next.with(c);
            }
            if (replace) {
                for (Target t : admin.targets()) {
                    if (!set.targets().containsKey(t)) {
                        changes.add(new ConfigStore.Change(t, admin.config(t).orElse(null), null, "import"));
                        counts.merge("deleted", 1, Integer::sum);
                        next = next.without(t);
                    }
                }
            }
            if (set.defaultConfig() != null) {
                LimitConfig before = admin.defaultConfig().orElse(null);
                if (!set.defaultConfig().equals(before)) {
                    changes.add(new ConfigStore.Change(null, before, set.defaultConfig(), "import"));
                }
                next = next.withDefault(set.defaultConfig());
            }
            store.commit(changes, next, source);
            return counts;
        });
    }

    /** @return every config in Redis now, and the default config, in the config file's shape */
    public ConfigSet export() {
        LimiterAdmin admin = store.admin();
        Map<Target, LimitConfig> m = new HashMap<>();
        for (Target t : admin.targets()) {
            admin.config(t).ifPresent(c -> m.put(t, c));
        }
        return new ConfigSet(ConfigSet.asDefault(store.defaultConfig()), m);
    }
}
