package io.llmlimiter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.server.ProblemException.Kind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every config change goes through here: Redis first (clients read it there), then the config file,
 * then the audit log. A change that fails half way is rolled back, so Redis and the file never
 * disagree about a change the caller was told failed. Thread-safe: changes, and the
 * {@link ConfigReconciler}'s passes, are serialized by one lock.
 */
public final class ConfigStore {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigStore.class);

    /**
     * One change to apply. Immutable.
     *
     * @param target the target, or null for the default config
     * @param before the config before (null: none)
     * @param after the config after (null: delete)
     * @param action the audit action, e.g. {@code replace}
     */
    record Change(Target target, LimitConfig before, LimitConfig after, String action) {
    }

    private final LimiterAdmin admin;
    private final ConfigFile file;
    private final AuditLog audit;
    private final ReentrantLock lock = new ReentrantLock();
    private ConfigSet onDisk;

    private ConfigStore(LimiterAdmin admin, ConfigFile file, AuditLog audit, ConfigSet onDisk) {
        this.admin = admin;
        this.file = file;
        this.audit = audit;
        this.onDisk = onDisk;
    }

    /**
     * Loads the config file, or seeds it on first start (see {@link ConfigSeeder}).
     *
     * @param admin the limiter's admin
     * @param file the config file
     * @param audit the audit log
     * @return the store
     * @throws IllegalArgumentException when the file is not valid, naming the entry and field
     * @throws IOException when the file cannot be written
     */
    public static ConfigStore open(LimiterAdmin admin, ConfigFile file, AuditLog audit) throws IOException {
        return new ConfigStore(admin, file, audit, ConfigSeeder.load(admin, file, audit));
    }

    /** @return the limiter's admin, for reads */
    public LimiterAdmin admin() {
        return admin;
    }

    /** @return the config file */
    public ConfigFile file() {
        return file;
    }

    /** @return the audit log */
    public AuditLog audit() {
        return audit;
    }

    /** @return what the config file holds now */
    public ConfigSet onDisk() {
        return locked(() -> onDisk);
    }

    /** @return what the config file holds now; called with the lock held */
    ConfigSet onDiskLocked() {
        return onDisk;
    }

    /**
     * Runs an action under the store's lock (the reconciler's passes).
     *
     * @param action the action
     * @param <T> its result
     * @return its result
     */
    <T> T locked(Supplier<T> action) {
        lock.lock();
        try {
            return action.get();
        } finally {
            lock.unlock();
        }
    }

    /** @return the default config unknown targets get (the built-in one when Redis has none) */
    public LimitConfig defaultConfig() {
        return admin.defaultConfig().orElseGet(() -> LimitConfig.conservativeDefault(ConfigSet.DEFAULT_TARGET));
    }

    /**
     * Creates a config.
     *
     * @param c the config
     * @param source who asks, for the audit log
     * @throws ProblemException 409 when the target already has one
     */
    public void create(LimitConfig c, String source) {
        locked(() -> {
            if (admin.config(c.target()).isPresent()) {
                throw ProblemException.field(Kind.CONFLICT, "provider", c.target()
                        + " already has a config; use PUT or PATCH /api/v1/targets/" + c.target() + " to change it");
            }
            commit(List.of(new Change(c.target(), null, c, "create")), onDisk.with(c), source);
            return null;
        });
    }

    /**
     * Creates or replaces a config.
     *
     * @param c the config
     * @param source who asks
     * @return whether it was created (no config before)
     */
    public boolean put(LimitConfig c, String source) {
        return locked(() -> {
            LimitConfig before = admin.config(c.target()).orElse(null);
            commit(List.of(new Change(c.target(), before, c, before == null ? "create" : "replace")), onDisk.with(c), source);
            return before == null;
        });
    }

    /**
     * Merges a JSON merge patch over a config: each field given replaces the config's, {@code null}
     * removes it (back to its default). {@code requests_per_minute} replaces the per-minute request
     * limit unless {@code limits} is given too.
     *
     * @param t the target
     * @param patch the patch, a JSON object
     * @param source who asks
     * @return the new config
     * @throws ProblemException 404 when the target has no config
     * @throws IllegalArgumentException naming the bad field
     */
    public LimitConfig patch(Target t, JsonNode patch, String source) {
        if (!patch.isObject()) {
            throw new IllegalArgumentException("body must be a JSON object of the fields to change");
        }
        return locked(() -> {
            LimitConfig before = admin.config(t).orElseThrow(() -> notFound(t));
            ObjectNode tree = ConfigJson.tree(before);
            // A config someone edits is theirs, no longer the one a client wrote by default.
            tree.remove("source");
            if (patch.has("requests_per_minute") && !patch.has("limits")) {
                ArrayNode kept = tree.putArray("limits");
                for (JsonNode l : ConfigJson.tree(before).get("limits")) {
                    if (!(l.get("resource").asText().equals("requests") && l.get("window").asText().equals("60s"))) {
                        kept.add(l);
                    }
                }
            }
            patch.fields().forEachRemaining(e -> {
                if (e.getValue().isNull()) {
                    tree.remove(e.getKey());
                } else {
                    tree.set(e.getKey(), e.getValue());
                }
            });
            LimitConfig after = ConfigJson.parse(tree, t);
            commit(List.of(new Change(t, before, after, "patch")), onDisk.with(after), source);
            return after;
        });
    }

    /**
     * Deletes a config; the target falls back to the default config on its next use.
     *
     * @param t the target
     * @param source who asks
     * @throws ProblemException 404 when it has none
     */
    public void delete(Target t, String source) {
        locked(() -> {
            LimitConfig before = admin.config(t).orElseThrow(() -> notFound(t));
            commit(List.of(new Change(t, before, null, "delete")), onDisk.without(t), source);
            return null;
        });
    }

    /**
     * Replaces the default config for unknown targets.
     *
     * @param c the config (its target name is ignored)
     * @param source who asks
     */
    public void putDefault(LimitConfig c, String source) {
        LimitConfig def = ConfigSet.asDefault(c);
        locked(() -> {
            commit(List.of(new Change(null, admin.defaultConfig().orElse(null), def, "default")),
                    onDisk.withDefault(def), source);
            return null;
        });
    }

    /**
     * Forgets a target's window state (request log, token sums, cooldown, waiting line).
     *
     * @param t the target
     * @param source who asks
     */
    public void reset(Target t, String source) {
        locked(() -> {
            admin.reset(t);
            audit.append("reset", t.toString(), source, null, null);
            return null;
        });
    }

    /**
     * Applies changes to Redis, then writes the file; on any failure undoes what was applied.
     * Called with the lock held.
     *
     * @param changes the changes, applied in order
     * @param next what the file holds afterwards
     * @param source who asks, for the audit log
     * @throws ProblemException 500 when the file cannot be written (Redis is rolled back)
     */
    void commit(List<Change> changes, ConfigSet next, String source) {
        List<Change> done = new ArrayList<>();
        try {
            for (Change c : changes) {
                apply(c.target(), c.after());
                done.add(c);
            }
        } catch (RuntimeException e) {
            rollback(done);
            throw e;
        }
        try {
            writeFile(next);
        } catch (IOException e) {
            LOG.error("cannot write the config file {}: {}; the change was rolled back", file.path(), e.toString());
            rollback(done);
            throw new ProblemException(Kind.STORAGE_FAILED, "The config file could not be written; nothing was changed.");
        }
        for (Change c : changes) {
            audit.append(c.action(), c.target() == null ? ConfigSet.DEFAULT_NAME : c.target().toString(), source,
                    c.before(), c.after());
        }
    }

    /**
     * Writes the file (when it changes) and remembers it. Called with the lock held.
     *
     * @param next what the file holds afterwards
     * @throws IOException when it cannot be written; the old file stays
     */
    void writeFile(ConfigSet next) throws IOException {
        if (!next.equals(onDisk)) {
            file.write(next);
            onDisk = next;
        }
    }

    private void apply(Target t, LimitConfig c) {
        if (t == null) {
            if (c != null) {
                admin.putDefaultConfig(c);
            }
        } else if (c == null) {
            admin.deleteConfig(t);
        } else {
            admin.putConfig(c);
        }
    }

    private void rollback(List<Change> done) {
        List<Change> reversed = new ArrayList<>(done);
        Collections.reverse(reversed);
        for (Change c : reversed) {
            try {
                apply(c.target(), c.before());
            } catch (RuntimeException e) {
                LOG.error("rollback of {} failed; the reconciler will restore it from the file: {}",
                        c.target() == null ? ConfigSet.DEFAULT_NAME : c.target(), e.toString());
            }
        }
    }

    /**
     * @param t a target
     * @return the 404 for a target without config
     */
    static ProblemException notFound(Target t) {
        return new ProblemException(Kind.NOT_FOUND, t + " has no config");
    }
}
