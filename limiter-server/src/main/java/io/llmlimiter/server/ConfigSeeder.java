package io.llmlimiter.server;

import io.llmlimiter.client.Target;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the config file holds when the server starts.
 *
 * <ul>
 *   <li>An existing file is read as is (the seed's file too). Entries edited by hand while the
 *       server was down, those that differ from the copy of what the server last wrote, get the
 *       file's modification time as their revision: they win over Redis where that is newer than
 *       Redis's revision. A target removed by hand becomes a tombstone at that time. Entries without
 *       a revision (a file from before revisions, or written by hand) get the modification time too.</li>
 *   <li>On first start (no file) the file is made from what Redis already holds, auto-created
 *       defaults left out, plus the seed project's defaults (deepseek/deepseek-chat 100 RPM,
 *       anthropic/claude-3-5-sonnet 50 RPM, openai/gpt-4 500 RPM, and 10 RPM for unknown targets)
 *       for targets Redis does not have: a fleet already configured in Redis is never overwritten.</li>
 * </ul>
 *
 * <p>Redis is written by the {@link ConfigReconciler}'s first pass, not here. Thread-safe (stateless).
 */
final class ConfigSeeder {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigSeeder.class);

    private ConfigSeeder() {
    }

    /**
     * @param redis the server's Redis connection
     * @param file the config file
     * @param audit the audit log, for what is seeded or adopted from a hand edit
     * @param clock the revision clock
     * @return the configs the file holds, always with a default config
     * @throws IllegalArgumentException when the file is not valid, naming the entry and field
     * @throws IOException when the file cannot be written
     */
    static ConfigSet load(RedisConfigs redis, ConfigFile file, AuditLog audit, RevisionClock clock) throws IOException {
        Optional<ConfigSet> existing = file.read();
        ConfigSet set;
        if (existing.isPresent()) {
            set = stampHandEdits(existing.get(), file.readSynced().orElse(null), file.lastModifiedMs(), audit);
            if (set.defaultConfig() == null) {
                RedisConfigs.Entry live = redis.read(java.util.List.of(ConfigSet.DEFAULT_NAME)).get(ConfigSet.DEFAULT_NAME);
                if (live.config() != null && live.revisioned()) {
                    set = set.withDefault(live.config(), live.meta().stamp());
                } else {
                    set = set.withDefault(live.config() != null ? live.config() : ConfigFile.seed().defaultConfig(),
                            clock.stamp());
                }
                audit.append("seed", ConfigSet.DEFAULT_NAME, "startup", null, set.defaultConfig());
                LOG.info("config file {} given a default config", file.path());
            }
        } else {
            set = adoptAndSeed(redis, ConfigFile.seed(), audit, clock);
            LOG.info("config file {} created with {} targets and the default config", file.path(), set.targets().size());
        }
        if (existing.isEmpty() || !set.equals(existing.get()) || !file.readSynced().equals(Optional.of(set))) {
            file.write(set);
        }
        return set;
    }

    /** Gives every entry edited by hand since the server's last write the file's modification time. */
    private static ConfigSet stampHandEdits(ConfigSet current, ConfigSet synced, long mtime, AuditLog audit) {
        Stamp edit = new Stamp(mtime, mtime);
        ConfigSet out = current;
        TreeSet<String> names = new TreeSet<>();
        names.addAll(names(current));
        if (synced != null) {
            names.addAll(names(synced));
        }
        for (String name : names) {
            Object now = entry(current, name);
            Object before = synced == null ? null : entry(synced, name);
            boolean edited = synced != null && !Objects.equals(now, before);
            if (now == null) {
                // Removed by hand (the default cannot be: it is given back below).
                if (edited && !name.equals(ConfigSet.DEFAULT_NAME)) {
                    out = out.deleted(Target.parse(name), edit);
                    audit.append("file-edit", name, "file", before instanceof ConfigDocument c ? c : null, null);
                }
                continue;
            }
            if (edited || current.stamp(name) == null) {
                if (now instanceof ConfigDocument c) {
                    out = name.equals(ConfigSet.DEFAULT_NAME) ? out.withDefault(c, edit) : out.with(c, edit);
                } else {
                    out = out.deleted(Target.parse(name), edit);
                }
                if (edited) {
                    audit.append("file-edit", name, "file", before instanceof ConfigDocument b ? b : null,
                            now instanceof ConfigDocument c ? c : null);
                }
            }
        }
        int changed = 0;
        for (String name : names(out)) {
            if (!Objects.equals(out.stamp(name), current.stamp(name))) {
                changed++;
            }
        }
        if (changed > 0) {
            LOG.info("config file: {} entries edited by hand or without a revision take its modification time {} "
                    + "as their revision", changed, edit.updatedAt());
        }
        return out;
    }

    private static TreeSet<String> names(ConfigSet s) {
        TreeSet<String> n = new TreeSet<>();
        if (s.defaultConfig() != null) {
            n.add(ConfigSet.DEFAULT_NAME);
        }
        s.targets().keySet().forEach(t -> n.add(t.toString()));
        s.tombstones().keySet().forEach(t -> n.add(t.toString()));
        return n;
    }

    /** @return the config, {@code "deleted"} for a tombstone, or null */
    private static Object entry(ConfigSet s, String name) {
        if (name.equals(ConfigSet.DEFAULT_NAME)) {
            return s.defaultConfig();
        }
        Target t = Target.parse(name);
        if (s.targets().containsKey(t)) {
            return s.targets().get(t);
        }
        return s.tombstones().containsKey(t) ? "deleted" : null;
    }

    private static ConfigSet adoptAndSeed(RedisConfigs redis, ConfigSet seed, AuditLog audit, RevisionClock clock) {
        ConfigSet set = ConfigSet.empty();
        for (Map.Entry<String, RedisConfigs.Entry> e : redis.readAll().entrySet()) {
            RedisConfigs.Entry live = e.getValue();
            if (live.tombstone() && !e.getKey().equals(ConfigSet.DEFAULT_NAME)) {
                set = set.deleted(Target.parse(e.getKey()), live.meta().stamp());
            } else if (live.config() != null && !live.config().autoCreated()) {
                Stamp s = live.revisioned() ? live.meta().stamp() : clock.stamp();
                set = e.getKey().equals(ConfigSet.DEFAULT_NAME) ? set.withDefault(live.config(), s) : set.with(live.config(), s);
                audit.append("adopt", e.getKey(), "startup", null, live.config());
            }
        }
        for (ConfigDocument c : seed.targets().values()) {
            if (!set.targets().containsKey(c.target()) && !set.tombstones().containsKey(c.target())) {
                set = set.with(c, clock.stamp());
                audit.append("seed", c.target().toString(), "startup", null, c);
            }
        }
        if (set.defaultConfig() == null) {
            set = set.withDefault(seed.defaultConfig(), clock.stamp());
            audit.append("seed", ConfigSet.DEFAULT_NAME, "startup", null, set.defaultConfig());
        }
        return set;
    }
}
