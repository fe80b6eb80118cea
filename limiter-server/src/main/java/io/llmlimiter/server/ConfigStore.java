package io.llmlimiter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Target;
import io.llmlimiter.server.ProblemException.Kind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every config change goes through here: Redis first (clients read it there), then the config file,
 * then the audit log. Every change gets a revision from the {@link RevisionClock} and is written to
 * Redis with it in one transaction ({@link RedisConfigs}): a batch (an import) is all or nothing. A
 * change whose file write fails is undone in Redis (the previous configs written back with a newer
 * revision), so Redis and the file never disagree about a change the caller was told failed; a
 * change Redis refused never reaches the file. Thread-safe: changes, and the
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
    record Change(Target target, ConfigDocument before, ConfigDocument after, String action) {

        /** @return the target's name, or {@value ConfigSet#DEFAULT_NAME} */
        String name() {
            return target == null ? ConfigSet.DEFAULT_NAME : target.toString();
        }
    }

    private final LimiterAdmin admin;
    private final RedisConfigs redis;
    private final RevisionClock clock;
    private final ConfigFile file;
    private final AuditLog audit;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile ConfigSet onDisk;

    private ConfigStore(LimiterAdmin admin, RedisConfigs redis, RevisionClock clock, ConfigFile file, AuditLog audit,
                        ConfigSet onDisk) {
        this.admin = admin;
        this.redis = redis;
        this.clock = clock;
        this.file = file;
        this.audit = audit;
        this.onDisk = onDisk;
        observe(onDisk);
    }

    /**
     * Loads the config file, or seeds it on first start (see {@link ConfigSeeder}).
     *
     * @param admin the limiter's admin, for reads
     * @param redis the server's own Redis connection, for config writes
     * @param file the config file
     * @param audit the audit log
     * @return the store
     * @throws IllegalArgumentException when the file is not valid, naming the entry and field
     * @throws IOException when the file cannot be written
     */
    static ConfigStore open(LimiterAdmin admin, RedisConfigs redis, ConfigFile file, AuditLog audit) throws IOException {
        RevisionClock clock = new RevisionClock(System::currentTimeMillis);
        return new ConfigStore(admin, redis, clock, file, audit, ConfigSeeder.load(redis, file, audit, clock));
    }

    private void observe(ConfigSet set) {
        set.stamps().values().forEach(st -> clock.observe(st.revision()));
        set.tombstones().values().forEach(st -> clock.observe(st.revision()));
    }

    /** @return the server's Redis connection for configs */
    RedisConfigs redis() {
        return redis;
    }

    /** @return the revision clock */
    RevisionClock clock() {
        return clock;
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
        return onDisk;
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
     * @param targets targets
     * @return the stored document, probe record included, of each that has a readable one, in the
     *     given order; read in one transaction
     */
    public List<ConfigDocument> documents(List<Target> targets) {
        List<String> names = targets.stream().map(Target::toString).toList();
        List<ConfigDocument> out = new ArrayList<>();
        redis.read(names).values().forEach(e -> {
            if (e.config() != null) {
                out.add(e.config());
            }
        });
        return out;
    }

    /**
     * @param t a target
     * @return its stored document, probe record included, or empty when it has none
     */
    public Optional<ConfigDocument> document(Target t) {
        return Optional.ofNullable(redis.read(List.of(t.toString())).get(t.toString()).config());
    }

    /**
     * @return the default config's stored document, probe record included (the built-in default
     *     when Redis has none, or none that can be read)
     */
    public ConfigDocument defaultDocument() {
        ConfigDocument d = redis.read(List.of(ConfigSet.DEFAULT_NAME)).get(ConfigSet.DEFAULT_NAME).config();
        return d != null ? d : ConfigDocument.of(LimitConfig.conservativeDefault(ConfigSet.DEFAULT_TARGET));
    }

    /**
     * Creates a config.
     *
     * @param c the config
     * @param source who asks, for the audit log
     * @throws ProblemException 409 when the target already has one
     */
    public void create(ConfigDocument c, String source) {
        locked(() -> {
            if (current(c.target()) != null) {
                throw ProblemException.field(Kind.CONFLICT, "provider", c.target()
                        + " already has a config; use PUT or PATCH /api/v1/targets/" + c.target() + " to change it");
            }
            commit(List.of(new Change(c.target(), null, c, "create")), source);
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
    public boolean put(ConfigDocument c, String source) {
        return locked(() -> {
            ConfigDocument before = current(c.target());
            commit(List.of(new Change(c.target(), before, c, before == null ? "create" : "replace")), source);
            return before == null;
        });
    }

    /**
     * Merges a JSON merge patch over a config: each field given replaces the config's, {@code null}
     * removes it (back to its default). {@code requests_per_minute} replaces the per-minute request
     * limit unless {@code limits} is given too. The probe record's fields patch like the others.
     *
     * @param t the target
     * @param patch the patch, a JSON object
     * @param source who asks
     * @return the new config
     * @throws ProblemException 404 when the target has no config
     * @throws IllegalArgumentException naming the bad field
     */
    public ConfigDocument patch(Target t, JsonNode patch, String source) {
        if (!patch.isObject()) {
            throw new IllegalArgumentException("body must be a JSON object of the fields to change");
        }
        return locked(() -> {
            ConfigDocument before = current(t);
            if (before == null) {
                throw notFound(t);
            }
            ObjectNode tree = before.tree();
            // A config someone edits is theirs, no longer the one a client wrote by default.
            tree.remove("source");
            if (patch.has("requests_per_minute") && !patch.has("limits")) {
                ArrayNode kept = tree.putArray("limits");
                for (JsonNode l : before.tree().get("limits")) {
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
            ConfigDocument after = ConfigDocument.parse(tree, t);
            commit(List.of(new Change(t, before, after, "patch")), source);
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
            ConfigDocument before = current(t);
            if (before == null) {
                throw notFound(t);
            }
            commit(List.of(new Change(t, before, null, "delete")), source);
            return null;
        });
    }

    /**
     * Replaces the default config for unknown targets.
     *
     * @param c the config (its target name is ignored)
     * @param source who asks
     */
    public void putDefault(ConfigDocument c, String source) {
        ConfigDocument def = ConfigSet.asDefault(c);
        locked(() -> {
            RedisConfigs.Entry live = read(ConfigSet.DEFAULT_NAME);
            commit(List.of(new Change(null, live.config(), def, "default")), source);
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
     * @param t a target
     * @return its config document in Redis now, or null; its revision is observed
     */
    ConfigDocument current(Target t) {
        return read(t.toString()).config();
    }

    private RedisConfigs.Entry read(String name) {
        RedisConfigs.Entry e = redis.read(List.of(name)).get(name);
        if (e.meta() != null) {
            clock.observe(e.meta().stamp().revision());
        }
        return e;
    }

    /**
     * Applies changes to Redis under one new revision, in one transaction, then writes them to the
     * file; on any failure nothing stays changed. Called with the lock held.
     *
     * @param changes the changes
     * @param source who asks, for the audit log
     * @throws ProblemException 500 when the file cannot be written (Redis is rolled back), 503 when
     *     Redis refused or could not be reached (nothing changed, or the outcome is unknown and the
     *     reconciler settles it: all of the change or none)
     */
    void commit(List<Change> changes, String source) {
        if (changes.isEmpty()) {
            return;
        }
        Stamp stamp = clock.stamp();
        List<RedisConfigs.Write> writes = new ArrayList<>();
        ConfigSet next = onDisk;
        for (Change c : changes) {
            writes.add(new RedisConfigs.Write(c.name(), c.after(), stamp));
            if (c.target() == null) {
                next = next.withDefault(c.after(), stamp);
            } else if (c.after() == null) {
                next = next.deleted(c.target(), stamp);
            } else {
                next = next.with(c.after(), stamp);
            }
        }
        try {
            redis.apply(writes);
        } catch (RedisConfigs.Failure f) {
            if (f.unknown() && !redis.isCluster() && appliedAfterAll(writes.get(0).name(), stamp)) {
                LOG.warn("Redis answered a config change late but had applied it: {}", f.getMessage());
            } else {
                if (f.applied() > 0) {
                    rollback(changes.subList(0, f.applied()));
                }
                if (f.unknown()) {
                    throw new ProblemException(Kind.REDIS_UNAVAILABLE, "Redis did not confirm the change ("
                            + f.getMessage() + "); it is either wholly applied or not at all, and the config "
                            + "file will follow Redis. Read the configs back before retrying.");
                }
                throw new ProblemException(Kind.REDIS_UNAVAILABLE, "Redis refused the change, nothing was changed: "
                        + f.getMessage());
            }
        }
        try {
            writeFile(next);
        } catch (IOException e) {
            LOG.error("cannot write the config file {}: {}; the change was rolled back", file.path(), e.toString());
            rollback(changes);
            throw new ProblemException(Kind.STORAGE_FAILED, "The config file could not be written; nothing was changed.");
        }
        for (Change c : changes) {
            audit.append(c.action(), c.name(), source, c.before(), c.after());
        }
    }

    /** Whether Redis holds the revision a transaction whose reply was lost wrote. */
    private boolean appliedAfterAll(String name, Stamp stamp) {
        try {
            RedisConfigs.Entry e = redis.read(List.of(name)).get(name);
            return e.meta() != null && e.meta().stamp().revision() == stamp.revision();
        } catch (RuntimeException e) {
            return false;
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

    /** Writes the configs from before these changes back, with a newer revision. */
    private void rollback(List<Change> done) {
        Stamp undo = clock.stamp();
        List<RedisConfigs.Write> writes = new ArrayList<>();
        for (Change c : done) {
            // A default that was missing stays as written: Redis always needs one, the reconciler settles it.
            if (c.target() != null || c.before() != null) {
                writes.add(new RedisConfigs.Write(c.name(), c.before(), undo));
            }
        }
        try {
            redis.apply(writes);
        } catch (RuntimeException e) {
            LOG.error("undoing a failed config change failed; the reconciler will make the config file follow Redis: {}",
                    e.toString());
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
