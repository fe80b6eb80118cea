package io.llmlimiter.client.internal;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TenantUsage;
import io.llmlimiter.client.FairShare;
import io.llmlimiter.client.TargetReading;
import io.llmlimiter.client.TargetUsage;
import io.llmlimiter.scripts.LuaScript;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** {@link LimiterAdmin} over the limiter's Redis connection. This class is thread-safe. */
final class RedisAdmin implements LimiterAdmin {

    private static final Keys DEFAULT = Keys.ofTag(Keys.DEFAULT_TAG);
    private static final Target DEFAULT_TARGET = new Target("default", "default");

    private final RedisLimiter limiter;
    // The configs of the last batched reads, by the JSON they were parsed from: a config that did not
    // change is not parsed again. Holds at most the targets of the reads; a read of every target
    // (at least as many as held) drops the others.
    private final Map<Target, Map.Entry<String, LimitConfig>> parsed = new java.util.concurrent.ConcurrentHashMap<>();

    RedisAdmin(RedisLimiter limiter) {
        this.limiter = limiter;
    }

    @Override
    public Optional<LimitConfig> config(Target target) {
        return limiter.await(target, "config", configAsync(target));
    }

    CompletableFuture<Optional<LimitConfig>> configAsync(Target target) {
        return hget(Keys.of(target), "json").thenApply(json -> Optional.ofNullable(json).map(j -> ConfigJson.parse(j, target)));
    }

    @Override
    public void putConfig(LimitConfig config) {
        limiter.await(config.target(), "put config", writeConfig(config, "put"));
    }

    @Override
    public boolean putConfigIfAbsent(LimitConfig config) {
        return limiter.await(config.target(), "put config", writeConfig(config, "nx"));
    }

    @Override
    public boolean deleteConfig(Target target) {
        return limiter.await(target, "delete config",
                limiter.scripts().commands().del(Keys.of(target).config()).toCompletableFuture()) > 0;
    }

    @Override
    public List<Target> targets() {
        List<Target> out = new ArrayList<>();
        ScanArgs args = ScanArgs.Builder.matches(Keys.PREFIX + "{*}:cfg").limit(500);
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
            KeyScanCursor<String> page = limiter.await(null, "scan",
                    limiter.scripts().commands().scan(cursor, args).toCompletableFuture());
            for (String key : page.getKeys()) {
                Target t = Keys.targetOfConfigKey(key);
                if (t != null) {
                    out.add(t);
                }
            }
            cursor = page;
        } while (!cursor.isFinished());
        out.sort((a, b) -> a.toString().compareTo(b.toString()));
        return out;
    }

    @Override
    public Optional<LimitConfig> defaultConfig() {
        return limiter.await(null, "default config", defaultConfigAsync());
    }

    @Override
    public void putDefaultConfig(LimitConfig config) {
        LimitConfig c = retarget(config, DEFAULT_TARGET);
        limiter.await(null, "put default config", runSetConfig(DEFAULT, c, "put"));
    }

    @Override
    public TargetUsage usage(Target target) {
        List<Object> r = limiter.await(target, "usage",
                limiter.scripts().<List<Object>>run(LuaScript.USAGE, ScriptOutputType.MULTI, Keys.of(target), ""));
        return parseUsage(target, r);
    }

    /** Parses usage.lua's reply (see its header). */
    static TargetUsage parseUsage(Target target, List<Object> r) {
        List<TargetUsage.WindowUsage> windows = new ArrayList<>();
        for (int i = 5; i + 3 < r.size(); i += 4) {
            String[] p = ((String) r.get(i)).split(":");
            Limit limit = new Limit(Resource.fromCode(p[0]), Long.parseLong(p[1]), Duration.ofMillis(Long.parseLong(p[2])));
            windows.add(new TargetUsage.WindowUsage(limit, (Long) r.get(i + 1), (Long) r.get(i + 2), (String) r.get(i + 3)));
        }
        long cooldown = (Long) r.get(3);
        return new TargetUsage(target, micros((Long) r.get(0)), (Long) r.get(1), (Long) r.get(2),
                cooldown == 0 ? null : micros(cooldown), Duration.ofMillis((Long) r.get(4)), windows);
    }

    @Override
    public Map<String, Long> stats(Target target) {
        // This client's own counters not flushed yet go first, so a caller reads its own completions.
        Map<String, String> raw = limiter.await(target, "stats", limiter.stats().flush(target).thenCompose(
                v -> limiter.scripts().commands().hgetall(Keys.of(target).stats()).toCompletableFuture()));
        return Counters.parse(raw, System.currentTimeMillis());
    }

    @Override
    public List<TenantUsage> tenants(Target target) {
        Keys keys = Keys.of(target);
        var commands = limiter.scripts().commands();
        // This client's own spend and tenant corrections not flushed yet go first, as for stats.
        CompletableFuture<Void> flushed = limiter.stats().flush(target);
        CompletableFuture<Map<String, String>> spend = flushed.thenCompose(
                v -> commands.hgetall(keys.tenantCosts()).toCompletableFuture());
        CompletableFuture<Map<String, String>> share = flushed.thenCompose(
                v -> commands.hgetall(keys.tenants()).toCompletableFuture());
        limiter.await(target, "tenants", CompletableFuture.allOf(share, spend));
        FairShare fair = config(target).map(LimitConfig::fairShare).orElse(null);
        return tenantUsage(share.join(), spend.join(), fair, System.currentTimeMillis());
    }

    /** Reads the fair-share hash alone (no spend). */
    static List<TenantUsage> tenantUsage(Map<String, String> raw, FairShare share) {
        return tenantUsage(raw, Map.of(), share, System.currentTimeMillis());
    }

    /**
     * Reads the fair-share hash (tenants.lua: {@code n:}, {@code a:} totals and {@code k:} waiting
     * tickets) and the spend hash (usd.lua: {@code m:} this month, {@code d:} per day, for the month
     * {@code mo}).
     */
    static List<TenantUsage> tenantUsage(Map<String, String> raw, Map<String, String> spend, FairShare share,
                                         long nowMillis) {
        if (raw.isEmpty() && spend.isEmpty()) {
            return List.of();
        }
        // Per tenant: requests, tokens, waiting, spend today, spend this month.
        Map<String, long[]> by = new java.util.TreeMap<>();
        raw.forEach((f, v) -> {
            if (f.startsWith("n:")) {
                by.computeIfAbsent(f.substring(2), x -> new long[5])[0] = Long.parseLong(v);
            } else if (f.startsWith("a:")) {
                by.computeIfAbsent(f.substring(2), x -> new long[5])[1] = Long.parseLong(v);
            } else if (f.startsWith("k:")) {
                String[] p = v.split("\\|");
                if (p.length > 1) {
                    by.computeIfAbsent(p[1], x -> new long[5])[2]++;
                }
            }
        });
        if (Long.toString(Counters.month(nowMillis)).equals(spend.get("mo"))) {
            long day = Counters.day(nowMillis);
            spend.forEach((f, v) -> {
                if (f.startsWith("d:")) {
                    by.computeIfAbsent(f.substring(2), x -> new long[5])[3] = Counters.inPeriod(v, day);
                } else if (f.startsWith("m:")) {
                    by.computeIfAbsent(f.substring(2), x -> new long[5])[4] = Long.parseLong(v);
                }
            });
        }
        double weights = 0;
        long tokens = 0;
        for (Map.Entry<String, long[]> e : by.entrySet()) {
            weights += share == null ? 1 : share.shareOf(e.getKey()).weight();
            tokens += e.getValue()[1];
        }
        List<TenantUsage> out = new ArrayList<>();
        for (Map.Entry<String, long[]> e : by.entrySet()) {
            double w = share == null ? 1 : share.shareOf(e.getKey()).weight();
            long[] v = e.getValue();
            out.add(new TenantUsage(e.getKey(), w, w / weights, v[0], v[1], tokens == 0 ? 0 : (double) v[1] / tokens, v[2],
                    v[3], v[4]));
        }
        out.sort(java.util.Comparator.comparingLong(TenantUsage::tokens)
                .thenComparingLong(TenantUsage::costMonthMicros).reversed());
        return out;
    }

    /**
     * Sends the config, usage, counter and wait reads of every target at once on the shared
     * (pipelined) connection, then waits for all of them: one batch, not a round trip per target.
     * Tenants are read in a second batch, only of the targets that have some: those that share
     * fairly or spent this month. The replies are parsed on the calling thread, never on Lettuce's.
     */
    @Override
    public List<TargetReading> read(List<Target> targets) {
        var commands = limiter.scripts().commands();
        List<CompletableFuture<String>> configs = new ArrayList<>(targets.size());
        List<CompletableFuture<List<Object>>> usages = new ArrayList<>(targets.size());
        List<CompletableFuture<Map<String, String>>> stats = new ArrayList<>(targets.size());
        List<CompletableFuture<Map<String, String>>> waits = new ArrayList<>(targets.size());
        for (Target t : targets) {
            Keys keys = Keys.of(t);
            configs.add(commands.hget(keys.config(), "json").toCompletableFuture());
            usages.add(limiter.scripts().run(LuaScript.USAGE, ScriptOutputType.MULTI, keys, ""));
            stats.add(commands.hgetall(keys.stats()).toCompletableFuture());
            waits.add(commands.hgetall(WaitTimes.key(t)).toCompletableFuture());
        }
        List<CompletableFuture<?>> all = new ArrayList<>(4 * targets.size());
        all.addAll(configs);
        all.addAll(usages);
        all.addAll(stats);
        all.addAll(waits);
        limiter.await(null, "read " + targets.size() + " targets", CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)));
        long now = System.currentTimeMillis();
        List<TargetReading> out = new ArrayList<>(targets.size());
        List<CompletableFuture<Map<String, String>>> shares = new ArrayList<>();
        List<CompletableFuture<Map<String, String>>> spends = new ArrayList<>();
        CompletableFuture<Map<String, String>> none = CompletableFuture.completedFuture(Map.of());
        for (int i = 0; i < targets.size(); i++) {
            String json = configs.get(i).join();
            if (json != null) {
                Target t = targets.get(i);
                Map<String, Long> counters = Counters.parse(stats.get(i).join(), now);
                LimitConfig config = parsedConfig(t, json);
                out.add(new TargetReading(config, parseUsage(t, usages.get(i).join()), counters,
                        combineWaits(t, waits.get(i).join(), now)));
                Keys keys = Keys.of(t);
                shares.add(config.fairShare() == null ? none : commands.hgetall(keys.tenants()).toCompletableFuture());
                spends.add(counters.getOrDefault(Counters.COST_MONTH, 0L) == 0 ? none
                        : commands.hgetall(keys.tenantCosts()).toCompletableFuture());
            }
        }
        List<CompletableFuture<?>> tenants = new ArrayList<>(shares);
        tenants.addAll(spends);
        limiter.await(null, "read the tenants of " + out.size() + " targets",
                CompletableFuture.allOf(tenants.toArray(CompletableFuture[]::new)));
        for (int i = 0; i < out.size(); i++) {
            TargetReading r = out.get(i);
            List<TenantUsage> usage = tenantUsage(shares.get(i).join(), spends.get(i).join(), r.config().fairShare(), now);
            if (!usage.isEmpty()) {
                out.set(i, new TargetReading(r.config(), r.usage(), r.counters(), r.waits(), usage));
            }
        }
        if (targets.size() >= parsed.size()) {
            parsed.keySet().retainAll(new java.util.HashSet<>(targets));
        }
        return out;
    }

    private LimitConfig parsedConfig(Target target, String json) {
        Map.Entry<String, LimitConfig> known = parsed.get(target);
        if (known != null && known.getKey().equals(json)) {
            return known.getValue();
        }
        LimitConfig config = ConfigJson.parse(json, target);
        parsed.put(target, Map.entry(json, config));
        return config;
    }

    /** A client's report older than this is dropped: that client is gone (or its clock is far off). */
    static final long STALE_WAITS_MS = 60_000;

    /**
     * Combines the clients' reports (see {@link WaitTimes}): admissions add up, p50 is the median
     * of the clients' p50s weighted by their admissions, p99 the highest p99. Reports older than a
     * minute are deleted (in the background) and ignored.
     */
    TargetReading.Waits combineWaits(Target target, Map<String, String> raw, long nowMillis) {
        List<long[]> reports = new ArrayList<>();
        for (Map.Entry<String, String> e : raw.entrySet()) {
            long[] r = parseWaits(e.getValue());
            if (r == null || nowMillis - r[3] > STALE_WAITS_MS) {
                limiter.scripts().commands().hdel(WaitTimes.key(target), e.getKey());
            } else if (r[0] > 0) {
                reports.add(r);
            }
        }
        return combine(reports);
    }

    /** @return {n, p50_us, p99_us, at_ms}, or null when the value is not a report */
    static long[] parseWaits(String value) {
        String[] p = value.split(" ");
        if (p.length != 4) {
            return null;
        }
        try {
            return new long[] {Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3])};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static TargetReading.Waits combine(List<long[]> reports) {
        if (reports.isEmpty()) {
            return TargetReading.Waits.NONE;
        }
        long n = 0;
        long p99 = 0;
        for (long[] r : reports) {
            n += r[0];
            p99 = Math.max(p99, r[2]);
        }
        reports.sort((a, b) -> Long.compare(a[1], b[1]));
        long half = (n + 1) / 2;
        long seen = 0;
        long p50 = 0;
        for (long[] r : reports) {
            seen += r[0];
            if (seen >= half) {
                p50 = r[1];
                break;
            }
        }
        return new TargetReading.Waits(n, reports.size(), Duration.ofNanos(p50 * 1000), Duration.ofNanos(p99 * 1000));
    }

    @Override
    public void reset(Target target) {
        Keys keys = Keys.of(target);
        limiter.await(target, "reset",
                limiter.scripts().run(LuaScript.RESET, ScriptOutputType.INTEGER, keys, keys.channel()));
    }

    CompletableFuture<Optional<LimitConfig>> defaultConfigAsync() {
        return hget(DEFAULT, "json").thenApply(json -> Optional.ofNullable(json).map(j -> ConfigJson.parse(j, null)));
    }

    CompletableFuture<Boolean> writeConfig(LimitConfig config, String mode) {
        return runSetConfig(Keys.of(config.target()), config, mode);
    }

    static LimitConfig retarget(LimitConfig config, Target target) {
        return ConfigJson.parse(ConfigJson.tree(config).put("provider", target.provider()).put("model", target.model()),
                target);
    }

    private CompletableFuture<Boolean> runSetConfig(Keys keys, LimitConfig c, String mode) {
        StringBuilder spec = new StringBuilder();
        for (Limit l : c.limits()) {
            if (spec.length() > 0) {
                spec.append(',');
            }
            spec.append(l.resource().code()).append(':').append(l.amount()).append(':').append(l.window().toMillis());
        }
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(mode, spec.toString(),
                Integer.toString(c.maxConcurrent()), Long.toString(c.leaseTtl().toMillis()), c.accounting().label(),
                c.toJson(), keys.channel(), Long.toString(c.deliveryMargin().toMillis()),
                ConfigJson.scriptBudgets(c)));
        args.addAll(ConfigJson.fairShareArgs(c));
        return limiter.scripts().<Long>run(LuaScript.SET_CONFIG, ScriptOutputType.INTEGER, keys,
                        args.toArray(String[]::new))
                .thenApply(written -> written == 1);
    }

    private CompletableFuture<String> hget(Keys keys, String field) {
        return limiter.scripts().commands().hget(keys.config(), field).toCompletableFuture();
    }

    private static Instant micros(long us) {
        return Instant.ofEpochSecond(us / 1_000_000, (us % 1_000_000) * 1000);
    }
}
