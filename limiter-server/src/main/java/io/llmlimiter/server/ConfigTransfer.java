package io.llmlimiter.server;

import io.llmlimiter.client.Target;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Import and export of all configs at once. An import is one {@link ConfigStore#commit}: one
 * revision, one Redis transaction (all or nothing on a standalone or Sentinel-managed Redis; see
 * {@link RedisConfigs} for a cluster), and the file is written only once Redis took all of it.
 * An export reads every config in one transaction, a snapshot of one instant. Thread-safe (the
 * store serializes).
 */
public final class ConfigTransfer {

    private final ConfigStore store;

    /** @param store the store */
    public ConfigTransfer(ConfigStore store) {
        this.store = store;
    }

    /**
     * Imports configs, all or nothing: either every change is in Redis and the file, or none is.
     * Revisions in the input are ignored (an import is a change made now); an entry marked
     * {@code "deleted": true} deletes its target.
     *
     * @param set the configs, already validated
     * @param replace whether targets missing from the set are deleted
     * @param source who asks, for the audit log
     * @return counts by outcome: {@code created}, {@code replaced}, {@code deleted}, {@code unchanged}
     */
    public Map<String, Integer> importAll(ConfigSet set, boolean replace, String source) {
        return store.locked(() -> {
            Map<String, RedisConfigs.Entry> live = store.redis().readAll();
            List<ConfigStore.Change> changes = new ArrayList<>();
            Map<String, Integer> counts = new HashMap<>(Map.of("created", 0, "replaced", 0, "deleted", 0, "unchanged", 0));
            for (ConfigDocument c : set.targets().values()) {
                ConfigDocument before = configOf(live, c.target().toString());
                String outcome = before == null ? "created" : c.equals(before) ? "unchanged" : "replaced";
                counts.merge(outcome, 1, Integer::sum);
                if (!outcome.equals("unchanged")) {
                    changes.add(new ConfigStore.Change(c.target(), before, c, "import"));
                }
            }
            for (Target t : set.tombstones().keySet()) {
                ConfigDocument before = configOf(live, t.toString());
                if (before != null) {
                    changes.add(new ConfigStore.Change(t, before, null, "import"));
                    counts.merge("deleted", 1, Integer::sum);
                }
            }
            if (replace) {
                for (String name : live.keySet()) {
                    if (name.equals(ConfigSet.DEFAULT_NAME)) {
                        continue;
                    }
                    Target t = Target.parse(name);
                    ConfigDocument before = configOf(live, name);
                    if (before != null && !set.targets().containsKey(t) && !set.tombstones().containsKey(t)) {
                        changes.add(new ConfigStore.Change(t, before, null, "import"));
                        counts.merge("deleted", 1, Integer::sum);
                    }
                }
            }
            if (set.defaultConfig() != null) {
                ConfigDocument before = configOf(live, ConfigSet.DEFAULT_NAME);
                if (!set.defaultConfig().equals(before)) {
                    changes.add(new ConfigStore.Change(null, before, set.defaultConfig(), "import"));
                }
            }
            store.commit(changes, source);
            return counts;
        });
    }

    private static ConfigDocument configOf(Map<String, RedisConfigs.Entry> live, String name) {
        RedisConfigs.Entry e = live.get(name);
        return e == null ? null : e.config();
    }

    /**
     * @return every config in Redis now, and the default config, in the config file's shape, with
     *     the revision of each config written by a server (tombstones are left out)
     */
    public ConfigSet export() {
        Map<String, RedisConfigs.Entry> live = store.redis().readAll();
        Map<Target, ConfigDocument> m = new HashMap<>();
        Map<String, Stamp> stamps = new HashMap<>();
        ConfigDocument def = null;
        for (RedisConfigs.Entry e : live.values()) {
            if (e.config() == null) {
                continue;
            }
            if (e.revisioned()) {
                stamps.put(e.name(), e.meta().stamp());
            }
            if (e.name().equals(ConfigSet.DEFAULT_NAME)) {
                def = e.config();
            } else {
                m.put(e.config().target(), e.config());
            }
        }
        if (def == null) {
            def = ConfigSet.asDefault(ConfigDocument.of(store.defaultConfig()));
            stamps.remove(ConfigSet.DEFAULT_NAME);
        }
        return new ConfigSet(def, m, stamps, Map.of());
    }
}
