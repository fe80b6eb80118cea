package io.llmlimiter.server;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.client.internal.Keys;
import io.llmlimiter.client.internal.PriceSync;
import io.llmlimiter.scripts.LuaScript;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The server's own connection to Redis for configs and their revisions. A config lives in the
 * target's {@code cfg} hash (written by {@code set_config.lua}, read by every client), its
 * {@code json} field the whole {@link ConfigDocument}, probe record included; its revision
 * in {@code llmlim:{T}:rev}, a hash of {@code rev}, {@code updated_ms}, {@code sha} (SHA-1 of the
 * config JSON written with it, so a config changed in Redis by anything else is recognised) and,
 * for a deleted target's tombstone, {@code deleted=1}. Both are written in one MULTI/EXEC.
 *
 * <p>Atomicity: on a standalone or Sentinel-managed Redis every {@link #apply(List)} is one
 * MULTI/EXEC on this dedicated connection: all its writes or none. {@code set_config.lua} is loaded
 * just before, so no EVALSHA in the transaction can fail with NOSCRIPT; a command Redis refuses while
 * queueing (an ACL, memory) aborts the whole transaction. On a Redis Cluster a transaction can only
 * hold keys of one slot and every target has its own slot: each target's change (config and
 * revision) is atomic, and a batch that fails part way is undone by {@link ConfigStore} writing the
 * previous configs back with newer revisions; readers may see the partial state meanwhile.
 *
 * <p>Thread-safe: every method holds this object's lock, so one transaction at a time uses the
 * connection.
 */
final class RedisConfigs implements AutoCloseable {

    /** The field of a config hash holding the config's JSON (written by set_config.lua). */
    private static final String JSON = "json";
    private static final String LEASE_KEY = Keys.PREFIX + "{" + ConfigSet.DEFAULT_NAME + "}:reconciler";

    /**
     * What Redis holds for one name.
     *
     * @param name a target's name or {@value ConfigSet#DEFAULT_NAME}
     * @param json the config JSON, or null when there is none
     * @param config the config document, or null (none, or not readable)
     * @param meta the revision hash, or null when there is none
     */
    record Entry(String name, String json, ConfigDocument config, Meta meta) {

        /** @return whether the config is the one this revision was written with */
        boolean revisioned() {
            return meta != null && !meta.deleted() && json != null && sha1(json).equals(meta.sha());
        }

        /** @return whether this is a deletion recorded by a server (no config since) */
        boolean tombstone() {
            return meta != null && meta.deleted() && json == null;
        }
    }

    /**
     * The revision hash.
     *
     * @param stamp revision and update time
     * @param deleted whether it records a deletion
     * @param sha the SHA-1 of the config JSON written with it, or null
     */
    record Meta(Stamp stamp, boolean deleted, String sha) {
    }

    /**
     * One write.
     *
     * @param name a target's name or {@value ConfigSet#DEFAULT_NAME}
     * @param config the config document; null deletes the target, leaving a tombstone at {@code stamp}
     * @param stamp the revision; null with a null config removes the tombstone
     */
    record Write(String name, ConfigDocument config, Stamp stamp) {
    }

    private final Object lock = new Object();
    private final RedisClient client;
    private final RedisClusterClient clusterClient;
    private final StatefulRedisConnection<String, String> connection;
    private final StatefulRedisClusterConnection<String, String> cluster;
    private final Duration timeout;

    private RedisConfigs(RedisClient client, StatefulRedisConnection<String, String> connection,
                         RedisClusterClient clusterClient, StatefulRedisClusterConnection<String, String> cluster,
                         Duration timeout) {
        this.client = client;
        this.connection = connection;
        this.clusterClient = clusterClient;
        this.cluster = cluster;
        this.timeout = timeout;
    }

    /**
     * Opens the connection.
     *
     * @param uri {@code redis://}, {@code rediss://}, {@code redis-sentinel://}, or
     *     {@code redis-cluster://h1:p1,h2:p2} (and {@code rediss-cluster://})
     * @param timeout how long a command may take
     * @return the connection
     * @throws io.lettuce.core.RedisConnectionException when Redis cannot be reached
     */
    static RedisConfigs open(String uri, Duration timeout) {
        if (uri.startsWith("redis-cluster://") || uri.startsWith("rediss-cluster://")) {
            boolean tls = uri.startsWith("rediss-cluster://");
            String rest = uri.substring(uri.indexOf("://") + 3);
            String userInfo = "";
            int at = rest.lastIndexOf('@');
            if (at >= 0) {
                userInfo = rest.substring(0, at + 1);
                rest = rest.substring(at + 1);
            }
            List<RedisURI> seeds = new ArrayList<>();
            for (String host : rest.split(",")) {
                if (!host.isBlank()) {
                    seeds.add(RedisURI.create((tls ? "rediss://" : "redis://") + userInfo + host.trim()));
                }
            }
            RedisClusterClient c = RedisClusterClient.create(seeds);
            // Node connections open lazily, so commands are not rejected while one connects; they wait at
            // most the timeout.
            try {
                return new RedisConfigs(null, null, c, c.connect(), timeout);
            } catch (RuntimeException e) {
                c.shutdown();
                throw e;
            }
        }
        RedisClient c = RedisClient.create(RedisURI.create(uri));
        // Never queued while disconnected: a config change fails at once rather than running later.
        c.setOptions(ClientOptions.builder().disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS).build());
        try {
            return new RedisConfigs(c, c.connect(), null, null, timeout);
        } catch (RuntimeException e) {
            c.shutdown();
            throw e;
        }
    }

    /**
     * Stores the fleet's price table whole: one {@code HSET} of its text, digest and time, so a
     * client reads either the old table or the new one, never a mix.
     *
     * @param json a table that parsed
     * @return its digest
     */
    String putPrices(String json) {
        String sha = sha1(json);
        synchronized (lock) {
            await(reads().hset(PriceSync.KEY, Map.of("json", json, "sha", sha,
                    "updated_ms", Long.toString(System.currentTimeMillis()))));
        }
        return sha;
    }

    /**
     * Reads the stored table in one {@code HMGET}, so its text, digest and time are of one write.
     *
     * @return {@code sha}, {@code updated_ms} and {@code json} as stored; empty when none
     */
    Map<String, String> prices() {
        synchronized (lock) {
            Map<String, String> out = new java.util.HashMap<>();
            for (var kv : await(reads().hmget(PriceSync.KEY, "sha", "updated_ms", "json"))) {
                if (kv.hasValue()) {
                    out.put(kv.getKey(), kv.getValue());
                }
            }
            return out;
        }
    }

    /** @return whether this is a Redis Cluster, where only each target's change is atomic */
    boolean isCluster() {
        return cluster != null;
    }

    private RedisClusterAsyncCommands<String, String> reads() {
        return cluster != null ? cluster.async() : connection.async();
    }

    /**
     * Reads every config and revision hash Redis holds, the default's included. On a standalone or
     * Sentinel-managed Redis the reads of the names found are one MULTI/EXEC: a snapshot of them
     * all at one instant.
     *
     * @return what Redis holds, by name
     */
    Map<String, Entry> readAll() {
        synchronized (lock) {
            TreeSet<String> names = new TreeSet<>();
            names.add(ConfigSet.DEFAULT_NAME);
            for (String suffix : new String[] {"cfg", "rev"}) {
                for (String key : scan(Keys.PREFIX + "{*}:" + suffix)) {
                    String name = nameOf(key, suffix);
                    if (name != null) {
                        names.add(name);
                    }
                }
            }
            return read(names);
        }
    }

    /**
     * @param names target names or {@value ConfigSet#DEFAULT_NAME}
     * @return what Redis holds for each (entries without config or revision included)
     */
    Map<String, Entry> read(Collection<String> names) {
        synchronized (lock) {
            List<String> list = new ArrayList<>(names);
            List<RedisFuture<String>> jsons = new ArrayList<>();
            List<RedisFuture<Map<String, String>>> metas = new ArrayList<>();
            if (cluster == null) {
                RedisAsyncCommands<String, String> a = connection.async();
                a.multi();
                for (String n : list) {
                    jsons.add(a.hget(configKey(n), JSON));
                    metas.add(a.hgetall(revKey(n)));
                }
                TransactionResult tx = await(a.exec());
                if (tx.wasDiscarded()) {
                    throw new RedisException("Redis discarded the read of the configs");
                }
            } else {
                RedisClusterAsyncCommands<String, String> a = cluster.async();
                for (String n : list) {
                    jsons.add(a.hget(configKey(n), JSON));
                    metas.add(a.hgetall(revKey(n)));
                }
            }
            Map<String, Entry> out = new LinkedHashMap<>();
            for (int i = 0; i < list.size(); i++) {
                String n = list.get(i);
                String json = await(jsons.get(i));
                Map<String, String> m = await(metas.get(i));
                out.put(n, new Entry(n, json, parse(n, json), meta(m)));
            }
            return out;
        }
    }

    private static ConfigDocument parse(String name, String json) {
        if (json == null) {
            return null;
        }
        try {
            return name.equals(ConfigSet.DEFAULT_NAME) ? ConfigSet.asDefault(ConfigDocument.parse(json, null))
                    : ConfigDocument.parse(json, Target.parse(name));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Meta meta(Map<String, String> m) {
        if (m == null || !m.containsKey("rev")) {
            return null;
        }
        try {
            long rev = Long.parseLong(m.get("rev"));
            long updated = m.containsKey("updated_ms") ? Long.parseLong(m.get("updated_ms")) : rev;
            return new Meta(new Stamp(rev, updated), "1".equals(m.get("deleted")), m.get("sha"));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * Applies writes: on a standalone or Sentinel-managed Redis all in one MULTI/EXEC, on a
     * cluster one transaction per target, in order.
     *
     * @param writes the writes
     * @return how many were applied: all of them, or (cluster only) the prefix applied before the failure
     * @throws Failure when not all were applied, with how many were
     */
    int apply(List<Write> writes) {
        if (writes.isEmpty()) {
            return 0;
        }
        synchronized (lock) {
            if (cluster == null) {
                try {
                    transaction(connection, writes);
                } catch (RuntimeException e) {
                    throw new Failure(0, !(e instanceof Refused), e);
                }
                return writes.size();
            }
            int done = 0;
            for (Write w : writes) {
                try {
                    RedisClusterNode node = cluster.getPartitions().getPartitionBySlot(SlotHash.getSlot(configKey(w.name())));
                    if (node == null) {
                        throw new IllegalStateException("no cluster node serves the slot of " + w.name());
                    }
                    transaction(cluster.getConnection(node.getNodeId()), List.of(w));
                } catch (RuntimeException e) {
                    throw new Failure(done, !(e instanceof Refused), e);
                }
                done++;
            }
            return done;
        }
    }

    /**
     * A batch that failed: the first {@link #applied()} writes were applied (cluster only; 0 on a
     * standalone Redis), and the transaction that failed either was refused (nothing of it applied)
     * or its outcome is {@link #unknown()} (the connection failed after EXEC was sent).
     */
    static final class Failure extends RedisException {
        private final int applied;
        private final boolean unknown;

        Failure(int applied, boolean unknown, Throwable cause) {
            super(cause.getMessage(), cause);
            this.applied = applied;
            this.unknown = unknown;
        }

        /** @return how many writes of the batch, from its start, were applied for sure */
        int applied() {
            return applied;
        }

        /** @return whether the failed transaction may have been applied (all of it) after all */
        boolean unknown() {
            return unknown;
        }
    }

    /** Redis answered the transaction with an error: nothing of it was applied. */
    private static final class Refused extends RedisException {
        Refused(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private void transaction(StatefulRedisConnection<String, String> conn, List<Write> writes) {
        RedisAsyncCommands<String, String> a = conn.async();
        // Loaded first: inside MULTI a NOSCRIPT would fail alone while the other commands ran.
        try {
            await(a.scriptLoad(LuaScript.SET_CONFIG.source()));
        } catch (RedisCommandExecutionException e) {
            throw new Refused("Redis refused to load set_config.lua: " + e.getMessage(), e);
        }
        List<RedisFuture<?>> queued = new ArrayList<>();
        a.multi();
        for (Write w : writes) {
            Keys keys = keys(w.name());
            String rev = revKey(w.name());
            if (w.config() == null) {
                queued.add(a.del(keys.config()));
                queued.add(a.del(rev));
                if (w.stamp() != null) {
                    queued.add(a.hset(rev, Map.of("rev", Long.toString(w.stamp().revision()),
                            "updated_ms", Long.toString(w.stamp().updatedMs()), "deleted", "1")));
                }
            } else {
                String json = w.config().json();
                queued.add(a.evalsha(LuaScript.SET_CONFIG.sha1(), ScriptOutputType.INTEGER, keys.keys(),
                        setConfigArgs(w.config().config(), json, keys.channel())));
                queued.add(a.del(rev));
                queued.add(a.hset(rev, Map.of("rev", Long.toString(w.stamp().revision()),
                        "updated_ms", Long.toString(w.stamp().updatedMs()), "sha", sha1(json))));
            }
        }
        TransactionResult tx;
        try {
            tx = await(a.exec());
        } catch (RedisCommandExecutionException e) {
            // EXECABORT: a command was refused while queueing (ACL, memory, ...), e.g. the first failed one:
            String why = e.getMessage();
            for (RedisFuture<?> f : queued) {
                if (f.isDone() && !f.isCancelled()) {
                    try {
                        f.get(0, TimeUnit.MILLISECONDS);
                    } catch (ExecutionException x) {
                        why = x.getCause().getMessage();
                        break;
                    } catch (InterruptedException | TimeoutException | RuntimeException ignored) {
                        // not the one
                    }
                }
            }
            throw new Refused("Redis refused the change, nothing was applied: " + why, e);
        }
        if (tx.wasDiscarded()) {
            throw new Refused("Redis discarded the change, nothing was applied", null);
        }
        for (Object o : tx) {
            if (o instanceof Throwable t) {
                // Cannot happen with the script loaded and every command accepted; said loudly if it does.
                throw new IllegalStateException("Redis failed a command inside the transaction: " + t.getMessage(), t);
            }
        }
    }

    /** The ARGV of set_config.lua "put" (see its header). */
    private static String[] setConfigArgs(LimitConfig c, String json, String channel) {
        StringBuilder spec = new StringBuilder();
        for (Limit l : c.limits()) {
            if (spec.length() > 0) {
                spec.append(',');
            }
            spec.append(l.resource().code()).append(':').append(l.amount()).append(':').append(l.window().toMillis());
        }
        List<String> args = new ArrayList<>(List.of("put", spec.toString(), Integer.toString(c.maxConcurrent()),
                Long.toString(c.leaseTtl().toMillis()), c.accounting().label(), json, channel,
                Long.toString(c.deliveryMargin().toMillis()), ConfigJson.scriptBudgets(c)));
        args.addAll(ConfigJson.fairShareArgs(c));
        return args.toArray(String[]::new);
    }

    /**
     * Takes or renews the reconciler lease: held by {@code holder} for {@code ttl} from now.
     *
     * @param holder who asks (unique per server process)
     * @param ttl how long the lease lasts without renewal
     * @return whether {@code holder} holds it now
     */
    boolean holdLease(String holder, Duration ttl) {
        synchronized (lock) {
            RedisClusterAsyncCommands<String, String> a = reads();
            Boolean taken = await(a.set(LEASE_KEY, holder, io.lettuce.core.SetArgs.Builder.nx().px(ttl.toMillis())))
                    == null ? Boolean.FALSE : Boolean.TRUE;
            if (taken) {
                return true;
            }
            return compareAndRun(holder, tx -> tx.pexpire(LEASE_KEY, ttl.toMillis()));
        }
    }

    /**
     * Gives the lease up when {@code holder} holds it.
     *
     * @param holder who holds it
     */
    void releaseLease(String holder) {
        synchronized (lock) {
            compareAndRun(holder, tx -> tx.del(LEASE_KEY));
        }
    }

    /** Runs one command on the lease key only while it still names {@code holder} (WATCH, MULTI, EXEC). */
    private boolean compareAndRun(String holder, java.util.function.Consumer<RedisAsyncCommands<String, String>> cmd) {
        StatefulRedisConnection<String, String> conn = cluster == null ? connection
                : cluster.getConnection(cluster.getPartitions().getPartitionBySlot(SlotHash.getSlot(LEASE_KEY)).getNodeId());
        RedisAsyncCommands<String, String> a = conn.async();
        await(a.watch(LEASE_KEY));
        if (!holder.equals(await(a.get(LEASE_KEY)))) {
            await(a.unwatch());
            return false;
        }
        a.multi();
        cmd.accept(a);
        return !await(a.exec()).wasDiscarded();
    }

    private List<String> scan(String pattern) {
        List<String> out = new ArrayList<>();
        ScanArgs args = ScanArgs.Builder.matches(pattern).limit(500);
        RedisClusterAsyncCommands<String, String> a = reads();
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
            KeyScanCursor<String> page = await(a.scan(cursor, args));
            out.addAll(page.getKeys());
            cursor = page;
        } while (!cursor.isFinished());
        return out;
    }

    private static String nameOf(String key, String suffix) {
        String end = "}:" + suffix;
        if (!key.startsWith(Keys.PREFIX + "{") || !key.endsWith(end)) {
            return null;
        }
        String tag = key.substring(Keys.PREFIX.length() + 1, key.length() - end.length());
        if (tag.equals(ConfigSet.DEFAULT_NAME)) {
            return tag;
        }
        try {
            return Target.parse(tag).toString();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Keys keys(String name) {
        return Keys.ofTag(name);
    }

    private static String configKey(String name) {
        return keys(name).config();
    }

    private static String revKey(String name) {
        return Keys.PREFIX + "{" + name + "}:rev";
    }

    /**
     * @param json a config's JSON
     * @return its SHA-1, hex
     */
    static String sha1(String json) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(json.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private <T> T await(Future<T> f) {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            // A connection reset and the like: Redis could not be reached.
            throw new io.lettuce.core.RedisConnectionException(String.valueOf(e.getCause().getMessage()), e.getCause());
        } catch (TimeoutException e) {
            throw new io.lettuce.core.RedisCommandTimeoutException("Redis did not answer within " + timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (client != null) {
                connection.close();
                client.shutdown();
            } else {
                cluster.close();
                clusterClient.shutdown();
            }
        }
    }

    /** Unused marker to keep the exception import meaningful for readers: EXECABORT arrives as this type. */
    @SuppressWarnings("unused")
    private static final Class<?> EXEC_ABORT = RedisCommandExecutionException.class;
}
