package io.llmlimiter.server;

import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.Redacted;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps Redis and the config file in agreement, every second or two, by revision: every config and
 * every deletion (a tombstone) carries one on both sides, and the newer wins in either direction.
 * So a Redis that restarts empty or rolls back (an older AOF or RDB, a failover) gets the file's
 * newer configs and tombstones back, a change made on another server reaches this file, and a
 * deleted target does not come back from a copy that still holds it.
 *
 * <ul>
 *   <li>A config a client wrote by itself for a target it found unconfigured ({@code "source":
 *       "default"}) is never adopted into the file and never overrides it: the file's config, when
 *       it has one, is written over it.</li>
 *   <li>A config changed in Redis by something other than a server (its JSON no longer matches the
 *       SHA-1 its revision was written with, or a config key deleted under a revision) is a change
 *       made now: it gets a new revision and is adopted into the file.</li>
 *   <li>A config in Redis without any revision (written by a client built with it, after Redis
 *       lost its data) loses to the file's config; where the file has a tombstone it is left to the
 *       client and not adopted; where the file has nothing it is adopted.</li>
 *   <li>Tombstones stay on both sides while they disagree, and once both hold the same one, for the
 *       retention period (default 7 days), so a server or a Redis copy that was away meanwhile
 *       still learns of the deletion; then both sides drop it.</li>
 * </ul>
 *
 * <p>With several servers on one Redis exactly one reconciles at a time: it holds a lease in Redis
 * ({@code llmlim:{_default}:reconciler}, three pass intervals long and at least 5 s), renewed every
 * pass; when the holder stops (or releases it on close), another takes it over once it lapses. The
 * others only serve. Every restore and adoption goes to the audit log. Thread-safe: a pass holds the
 * store's lock.
 */
public final class ConfigReconciler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigReconciler.class);
    /** How long both sides keep a tombstone they agree on. */
    static final Duration DEFAULT_TOMBSTONE_RETENTION = Duration.ofDays(7);

    private final ConfigStore store;
    private final Counter restored;
    private final Counter adopted;
    private final Counter failures;
    private final String holder = UUID.randomUUID().toString();
    private final Duration leaseTtl;
    private final Duration retention;
    private ScheduledExecutorService timer;
    private volatile boolean failing;
    private volatile boolean leader;

    /**
     * @param store the store
     * @param registry where the {@code llmlimiter.reconciler.*} meters go
     * @param interval the pause between passes (the lease lasts three of them, at least 5 s)
     * @param retention how long both sides keep a tombstone they agree on
     */
    public ConfigReconciler(ConfigStore store, MeterRegistry registry, Duration interval, Duration retention) {
        this.store = store;
        this.leaseTtl = interval.multipliedBy(3).compareTo(Duration.ofSeconds(5)) < 0 ? Duration.ofSeconds(5)
                : interval.multipliedBy(3);
        this.retention = retention;
        this.restored = Counter.builder(ServerMetrics.PREFIX + "reconciler.restored")
                .description("Configs written back to Redis from the config file").register(registry);
        this.adopted = Counter.builder(ServerMetrics.PREFIX + "reconciler.adopted")
                .description("Configs (or deletions) newer in Redis adopted into the config file").register(registry);
        this.failures = Counter.builder(ServerMetrics.PREFIX + "reconciler.failures")
                .description("Reconciler passes that failed (Redis unreachable, file not writable)").register(registry);
        Gauge.builder(ServerMetrics.PREFIX + "reconciler.leader", this, r -> r.leader ? 1 : 0)
                .description("1 while this server holds the reconciler lease (one server per Redis reconciles)")
                .register(registry);
    }

    /**
     * Runs a pass every {@code interval} in the background, the first after one interval.
     *
     * @param interval the pause between passes
     */
    public synchronized void start(Duration interval) {
        if (timer != null) {
            throw new IllegalStateException("already started");
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "llmlim-reconciler");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::safePass, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void safePass() {
        try {
            reconcileOnce();
            if (failing) {
                failing = false;
                LOG.info("reconciler: Redis and the config file are reachable again");
            }
        } catch (RuntimeException e) {
            failures.increment();
            // Logged once per outage, not every pass.
            if (!failing) {
                failing = true;
                LOG.warn("reconciler pass failed (will keep retrying): {}", Redacted.message(e));
            }
        }
    }

    /** @return whether this server held the reconciler lease at its last pass */
    public boolean leader() {
        return leader;
    }

    /**
     * Runs one pass, when this server holds (or can take) the lease.
     *
     * @return how many configs (and tombstones) were written back to Redis from the file
     */
    public int reconcileOnce() {
        return store.locked(this::pass);
    }

    /** The file's side of one name: a config, a tombstone (config null), or nothing (stamp null). */
    private record Side(ConfigDocument config, Stamp stamp) {
        boolean present() {
            return stamp != null;
        }
    }

    private int pass() {
        RedisConfigs redis = store.redis();
        boolean held = redis.holdLease(holder, leaseTtl);
        if (held != leader) {
            LOG.info(held ? "this server now reconciles the configs (holds the lease)"
                    : "another server reconciles the configs now; this one serves");
        }
        leader = held;
        if (!held) {
            return 0;
        }
        RevisionClock clock = store.clock();
        ConfigSet disk = store.onDiskLocked();
        Map<String, RedisConfigs.Entry> live = redis.readAll();
        live.values().forEach(e -> {
            if (e.meta() != null) {
                clock.observe(e.meta().stamp().revision());
            }
        });
        TreeSet<String> names = new TreeSet<>(live.keySet());
        names.add(ConfigSet.DEFAULT_NAME);
        disk.targets().keySet().forEach(t -> names.add(t.toString()));
        disk.tombstones().keySet().forEach(t -> names.add(t.toString()));
        long purgeBefore = clock.nowMs() - retention.toMillis();

        List<RedisConfigs.Write> writes = new ArrayList<>();
        List<Runnable> audits = new ArrayList<>();
        ConfigSet next = disk;
        int restoredNow = 0;
        int adoptedNow = 0;
        for (String name : names) {
            boolean isDefault = name.equals(ConfigSet.DEFAULT_NAME);
            Target t = isDefault ? null : Target.parse(name);
            Side file = isDefault ? new Side(disk.defaultConfig(), disk.stamp(name))
                    : disk.targets().containsKey(t) ? new Side(disk.targets().get(t), disk.stamp(name))
                    : new Side(null, disk.tombstones().get(t));
            if (file.config() != null && file.stamp() == null) {
                file = new Side(file.config(), new Stamp(0, 0));
            }
            RedisConfigs.Entry r = live.getOrDefault(name, new RedisConfigs.Entry(name, null, null, null));
            Side toRedis = null;
            Side toFile = null;
            String why = null;
            if (r.json() != null && r.config() == null) {
                LOG.warn("the config of {} in Redis cannot be read; left as it is", name);
                continue;
            }
            if (r.revisioned() || (r.tombstone() && !isDefault)) {
                Side redisSide = new Side(r.config(), r.meta().stamp());
                if (!file.present() || redisSide.stamp().revision() > file.stamp().revision()) {
                    toFile = redisSide;
                } else if (file.stamp().revision() > redisSide.stamp().revision()) {
                    toRedis = file;
                } else if (!Objects.equals(redisSide.config(), file.config())) {
                    toFile = redisSide;
                } else if (r.tombstone() && file.config() == null && file.stamp().updatedMs() < purgeBefore) {
                    writes.add(new RedisConfigs.Write(name, null, null));
                    next = next.without(t);
                    audits.add(() -> store.audit().append("purge", name, "reconciler", null, null));
                    continue;
                }
            } else if (r.config() != null && r.meta() != null && r.meta().deleted() && !isDefault
                    && (!file.present() || r.meta().stamp().revision() > file.stamp().revision())) {
                // Deleted by a server after the file's revision; a config a client wrote since stays the client's.
                toFile = new Side(null, r.meta().stamp());
            } else if (r.config() != null && r.config().autoCreated() && !isDefault) {
                // Written by a client for a target it found unconfigured: never adopted, never wins.
                if (file.config() != null) {
                    toRedis = file;
                    why = "over a client's default";
                }
            } else if (r.config() != null && r.meta() != null && !r.meta().deleted()) {
                // Changed in Redis by something other than a server: a change made now.
                toFile = new Side(r.config(), clock.stamp());
                toRedis = toFile;
                why = "changed in Redis directly";
            } else if (r.config() != null) {
                // No revision: written by a client built with it, or before revisions existed.
                if (file.config() != null) {
                    toRedis = file;
                } else if (!file.present()) {
                    toFile = new Side(r.config(), clock.stamp());
                    toRedis = toFile;
                }
            } else if (r.meta() != null && !r.meta().deleted() && !isDefault) {
                // The config key was deleted under a revision, by something other than a server.
                toFile = new Side(null, clock.stamp());
                toRedis = toFile;
                why = "deleted in Redis directly";
            } else if (file.present()) {
                // Redis has nothing (lost its data, or an older copy without it).
                if (file.config() == null && file.stamp().updatedMs() < purgeBefore) {
                    next = next.without(t);
                    audits.add(() -> store.audit().append("purge", name, "reconciler", null, null));
                    continue;
                }
                toRedis = file;
            }
            if (toRedis != null && toRedis != toFile) {
                writes.add(new RedisConfigs.Write(name, toRedis.config(), toRedis.stamp()));
                restoredNow++;
                Side w = toRedis;
                ConfigDocument before = r.config();
                audits.add(() -> store.audit().append(w.config() == null ? "restore-delete" : "restore", name,
                        "reconciler", before, w.config()));
            } else if (toRedis != null) {
                writes.add(new RedisConfigs.Write(name, toRedis.config(), toRedis.stamp()));
            }
            if (toFile != null) {
                boolean sameContent = Objects.equals(toFile.config(), file.config()) && file.present();
                if (toFile.config() == null) {
                    next = next.deleted(t, toFile.stamp());
                } else if (isDefault) {
                    next = next.withDefault(toFile.config(), toFile.stamp());
                } else {
                    next = next.with(toFile.config(), toFile.stamp());
                }
                if (!sameContent) {
                    adoptedNow++;
                    Side w = toFile;
                    ConfigDocument before = file.config();
                    String by = why == null ? "redis" : "redis (" + why + ")";
                    audits.add(() -> store.audit().append(w.config() == null ? "adopt-delete" : "adopt", name, by,
                            before, w.config()));
                }
            }
        }
        redis.apply(writes);
        try {
            store.writeFile(next);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the config file " + store.file().path() + ": " + e, e);
        }
        audits.forEach(Runnable::run);
        if (restoredNow > 0) {
            restored.increment(restoredNow);
            LOG.warn("restored {} configs (or deletions) to Redis from {}: Redis held older ones or none",
                    restoredNow, store.file().path());
        }
        if (adoptedNow > 0) {
            adopted.increment(adoptedNow);
            LOG.info("adopted {} newer configs (or deletions) from Redis into {}", adoptedNow, store.file().path());
        }
        return restoredNow;
    }

    /** Stops the background passes. */
    @Override
    public synchronized void close() {
        if (timer != null) {
            // Let a running pass finish: interrupting it mid-write would only log a spurious failure.
            timer.shutdown();
            try {
                if (!timer.awaitTermination(10, TimeUnit.SECONDS)) {
                    timer.shutdownNow();
                }
            } catch (InterruptedException e) {
                timer.shutdownNow();
                Thread.currentThread().interrupt();
            }
            timer = null;
        }
        if (leader) {
            try {
                store.redis().releaseLease(holder);
            } catch (RuntimeException e) {
                LOG.debug("could not release the reconciler lease; it lapses by itself: {}", e.toString());
            }
            leader = false;
        }
    }
}
