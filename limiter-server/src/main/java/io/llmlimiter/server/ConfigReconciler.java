package io.llmlimiter.server;

import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.client.internal.Redacted;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps Redis and the config file in agreement, every second or two, so configs survive a Redis
 * that restarts without persistence.
 *
 * <ul>
 *   <li>No default config in Redis means Redis lost its data (only this server writes the default):
 *       every config of the file is written back, overwriting what clients wrote in the meantime
 *       for targets they found unconfigured.</li>
 *   <li>A target of the file missing from Redis is written back with {@code putConfigIfAbsent}.</li>
 *   <li>A target whose Redis config is exactly what a client writes for an unconfigured target,
 *       while the file holds another, lost its config and is restored from the file.</li>
 *   <li>Any other config that differs in Redis was changed there directly (Redis is the source of
 *       truth): it is adopted into the file.</li>
 * </ul>
 *
 * <p>Every restore and adoption goes to the audit log. Thread-safe: a pass holds the store's lock.
 */
public final class ConfigReconciler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigReconciler.class);

    private final ConfigStore store;
    private final Counter restored;
    private final Counter adopted;
    private final Counter failures;
    private ScheduledExecutorService timer;
    private volatile boolean failing;

    /**
     * @param store the store
     * @param registry where the {@code llmlimiter.reconciler.*} counters go
     */
    public ConfigReconciler(ConfigStore store, MeterRegistry registry) {
        this.store = store;
        this.restored = Counter.builder(ServerMetrics.PREFIX + "reconciler.restored")
                .description("Configs written back to Redis from the config file").register(registry);
        this.adopted = Counter.builder(ServerMetrics.PREFIX + "reconciler.adopted")
                .description("Configs changed directly in Redis and adopted into the config file").register(registry);
        this.failures = Counter.builder(ServerMetrics.PREFIX + "reconciler.failures")
                .description("Reconciler passes that failed (Redis unreachable, file not writable)").register(registry);
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

    /**
     * Runs one pass.
     *
     * @return how many configs were restored to Redis
     */
    public int reconcileOnce() {
        return store.locked(this::pass);
    }

    private int pass() {
        LimiterAdmin admin = store.admin();
        ConfigSet disk = store.onDiskLocked();
        Optional<LimitConfig> liveDefault = admin.defaultConfig();
        if (liveDefault.isEmpty()) {
            admin.putDefaultConfig(disk.defaultConfig());
            for (LimitConfig c : disk.targets().values()) {
                admin.putConfig(c);
                restored.increment();
                store.audit().append("restore", c.target().toString(), "reconciler", null, c);
            }
            store.audit().append("restore", ConfigSet.DEFAULT_NAME, "reconciler", null, disk.defaultConfig());
            LOG.warn("Redis had no configs (restarted without persistence?): restored {} targets and the default "
                    + "config from {}", disk.targets().size(), store.file().path());
            return disk.targets().size();
        }
        LimitConfig def = liveDefault.get();
        int restoredNow = 0;
        ConfigSet next = disk;
        Set<Target> live = new HashSet<>(admin.targets());
        for (LimitConfig c : disk.targets().values()) {
            Target t = c.target();
            Optional<LimitConfig> current = live.contains(t) ? admin.config(t) : Optional.empty();
            if (current.isEmpty()) {
                if (admin.putConfigIfAbsent(c)) {
                    restoredNow++;
                    store.audit().append("restore", t.toString(), "reconciler", null, c);
                }
            } else if (!current.get().equals(c)) {
                if (isClientDefault(current.get(), def)) {
                    admin.putConfig(c);
                    restoredNow++;
                    store.audit().append("restore", t.toString(), "reconciler", current.get(), c);
                } else {
                    next = next.with(current.get());
                    adopted.increment();
                    store.audit().append("adopt", t.toString(), "redis", c, current.get());
                }
            }
        }
        for (Target t : live) {
            if (!disk.targets().containsKey(t)) {
                Optional<LimitConfig> current = admin.config(t);
                if (current.isPresent() && !isClientDefault(current.get(), def)) {
                    next = next.with(current.get());
                    adopted.increment();
                    store.audit().append("adopt", t.toString(), "redis", null, current.get());
                }
            }
        }
        LimitConfig liveDef = ConfigSet.asDefault(def);
        if (!liveDef.equals(disk.defaultConfig())) {
            next = next.withDefault(liveDef);
            adopted.increment();
            store.audit().append("adopt", ConfigSet.DEFAULT_NAME, "redis", disk.defaultConfig(), liveDef);
        }
        if (restoredNow > 0) {
            restored.increment(restoredNow);
            LOG.warn("restored {} target configs missing from Redis from {}", restoredNow, store.file().path());
        }
        try {
            store.writeFile(next);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the config file " + store.file().path() + ": " + e, e);
        }
        return restoredNow;
    }

    /** Whether a config is what a client writes when it finds its target unconfigured. */
    private static boolean isClientDefault(LimitConfig c, LimitConfig def) {
        Target t = c.target();
        LimitConfig retargeted = ConfigJson.parse(ConfigJson.tree(def).put("provider", t.provider())
                .put("model", t.model()), t);
        return c.autoCreated() || c.equals(retargeted) || c.equals(LimitConfig.conservativeDefault(t));
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
    }
}
