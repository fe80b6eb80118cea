package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.Keys;
import io.llmlimiter.client.internal.ScriptRunner;
import io.llmlimiter.scripts.LuaScript;
import io.llmlimiter.scripts.RequestLog;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Redis time per script call as a target's window grows: one target's log is filled (directly,
 * in the real member format) with 1k, 10k, 100k and 300k in-window entries, then each script is
 * called on it in turn and timed by Redis itself ({@code INFO commandstats}, the {@code evalsha}
 * line's microseconds per call, the script's whole run). The bench's own client is the only one
 * on the server while this phase runs, so the reading is the scripts' alone. Calls run one at a
 * time. Not thread-safe.
 *
 * <p>Measured: acquire that admits; acquire refused by a token window (the "when does it fit"
 * search) and by a request window; complete with usage above the estimate (the log entry and
 * the window sums are corrected); usage; a batch acquire that admits a head and 15 further
 * requests in one call, and a batch completion of 16 requests (Redis time per request); and, for
 * the single admitting acquire, the Redis commands each call runs inside the script.
 */
final class ScriptsPhase {

    private static final long ENTRY_TOKENS = 10;
    private static final long DAY_MS = 86_400_000L;
    private static final int BATCH = 16;

    private final PhaseContext ctx;
    private final java.io.PrintStream log;
    private final String uri;
    private final int[] sizes;
    private final int calls;
    private double lastCommands;

    /**
     * @param ctx the run
     * @param log where progress goes
     * @param uri the Redis under test
     * @param sizes in-window entries to measure at
     * @param calls script calls per measurement
     */
    ScriptsPhase(PhaseContext ctx, java.io.PrintStream log, String uri, int[] sizes, int calls) {
        this.ctx = ctx;
        this.log = log;
        this.uri = uri;
        this.sizes = sizes.clone();
        this.calls = calls;
    }

    /** Measures every size and puts the results under {@code scripts} in the root. */
    void run(ObjectNode root) {
        ObjectNode node = root.putObject("scripts");
        RedisClient client = RedisClient.create(uri);
        try (StatefulRedisConnection<String, String> connection = client.connect(StringCodec.UTF8)) {
            RedisCommands<String, String> redis = connection.sync();
            ScriptRunner runner = new ScriptRunner(connection.async());
            for (LuaScript s : LuaScript.values()) {
                redis.scriptLoad(s.source());
            }
            for (int size : sizes) {
                node.set(Integer.toString(size), measure(client, redis, runner, size));
            }
        } finally {
            client.shutdown();
        }
    }

    private ObjectNode measure(RedisClient client, RedisCommands<String, String> redis, ScriptRunner runner, int size) {
        String ns = ctx.namespace("scripts", Integer.toString(size));
        Target target = new Target("bench", ns);
        Keys keys = Keys.of(target);
        long lastMicros = fill(client, redis, keys, size);
        long filled = size * ENTRY_TOKENS;
        // Neither limit refuses: admissions and completions run on the full log.
        config(runner, keys, "t:" + (filled * 2 + 1_000_000) + ":" + DAY_MS + ",r:" + (size * 2 + 10_000) + ":" + DAY_MS);

        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("entries", size);
        out.put("log_entries_at_start", Long.parseLong(redis.hget(keys.keys()[2], "ln")));
        List<String> ids = new ArrayList<>();
        double admit = time(i -> {
            String id = ns + "-a" + i;
            List<Object> r = runner.<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, keys, id,
                    Long.toString(ENTRY_TOKENS), Long.toString(ENTRY_TOKENS), "0", "", "0", "3000", keys.channel()).join();
            check((Long) r.get(0) == 1L, "acquire was not admitted: " + r);
            ids.add(id);
        });
        double admitCommands = lastCommands;
        double complete = time(i -> {
            List<Object> r = runner.<List<Object>>run(LuaScript.COMPLETE, ScriptOutputType.MULTI, keys, ids.get(i), "1",
                    "15", "5", "0", "", keys.channel(), "0", "", "", "", "").join();
            check((Long) r.get(1) == 20L, "complete did not correct the entry: " + r);
        });
        double usage = time(i -> runner.<List<Object>>run(LuaScript.USAGE, ScriptOutputType.MULTI, keys, "").join());
        List<String> batched = new ArrayList<>();
        double admitBatch = time(i -> {
            List<String> args = new ArrayList<>();
            for (int j = 0; j < BATCH; j++) {
                String id = ns + "-b" + i + "-" + j;
                args.addAll(List.of(id, Long.toString(ENTRY_TOKENS), Long.toString(ENTRY_TOKENS), "0"));
                if (j == 0) {
                    args.addAll(List.of("", "0", "3000", keys.channel(), Integer.toString(BATCH - 1)));
                }
                batched.add(id);
            }
            List<Object> r = runner.<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, keys,
                    args.toArray(String[]::new)).join();
            check((Long) r.get(0) == 1L && (Long) r.get(4) == BATCH - 1, "batch was not admitted whole: " + r);
        }) / BATCH;
        double completeBatch = time(i -> {
            List<String> args = new ArrayList<>(List.of("batch", "", keys.channel(), Integer.toString(BATCH)));
            for (int j = 0; j < BATCH; j++) {
                args.addAll(List.of(batched.get(i * BATCH + j), "1", "15", "5", "0", "", "", "", "", "0"));
            }
            List<Object> r = runner.<List<Object>>run(LuaScript.COMPLETE, ScriptOutputType.MULTI, keys,
                    args.toArray(String[]::new)).join();
            check(r.size() == 4 * BATCH && (Long) r.get(1) == 20L, "batch completion did not correct: " + r);
        }) / BATCH;

        // The token window is full: every acquire is refused and searches for when it fits.
        config(runner, keys, "t:" + (filled + calls * ENTRY_TOKENS) + ":" + DAY_MS + ",r:" + (size * 2 + 10_000) + ":" + DAY_MS);
        double refuseTokens = time(i -> refused(runner, keys, ns + "-t" + i, "t:"));
        // The request window is full.
        config(runner, keys, "t:" + (filled * 2 + 1_000_000) + ":" + DAY_MS + ",r:" + (size + calls) + ":" + DAY_MS);
        double refuseRequests = time(i -> refused(runner, keys, ns + "-r" + i, "r:"));

        out.put("acquire_admit_us", admit);
        out.put("acquire_refuse_tokens_us", refuseTokens);
        out.put("acquire_refuse_requests_us", refuseRequests);
        out.put("complete_us", complete);
        out.put("usage_us", usage);
        out.put("acquire_admit_commands", admitCommands);
        out.put("acquire_batch16_us_per_request", Math.round(10.0 * admitBatch) / 10.0);
        out.put("complete_batch16_us_per_request", Math.round(10.0 * completeBatch) / 10.0);
        ctx.probe().delete("llmlim:{bench/" + ns + "}:*");
        log.printf("scripts at %7d in-window entries: acquire admit %6.1f us, refuse (tokens) %6.1f us, "
                        + "refuse (requests) %6.1f us, complete %6.1f us, usage %6.1f us (Redis time per call, %d calls); "
                        + "%.1f commands per admitting acquire; batches of %d: acquire %.1f us, complete %.1f us per request%n",
                size, admit, refuseTokens, refuseRequests, complete, usage, calls, admitCommands, BATCH, admitBatch,
                completeBatch);
        check(lastMicros > 0, "no entries");
        return out;
    }

    private void refused(ScriptRunner runner, Keys keys, String id, String limit) {
        List<Object> r = runner.<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, keys, id,
                Long.toString(ENTRY_TOKENS), Long.toString(ENTRY_TOKENS), "0", "", "0", "3000", keys.channel()).join();
        check((Long) r.get(0) == 0L && ((String) r.get(3)).startsWith(limit), "acquire was not refused by " + limit + ": " + r);
    }

    private static void config(ScriptRunner runner, Keys keys, String limits) {
        runner.run(LuaScript.SET_CONFIG, ScriptOutputType.INTEGER, keys, "put", limits, "0", "600000", "keep", "{}",
                keys.channel(), "0").join();
    }

    /** Fills the log with entries spread over the last hour; returns the last one's time. */
    private static long fill(RedisClient client, RedisCommands<String, String> redis, Keys keys, int size) {
        List<String> t = redis.time();
        long now = Long.parseLong(t.get(0)) * 1_000_000 + Long.parseLong(t.get(1));
        long step = 3_600_000_000L / size;
        long start = now - 3_600_000_000L;
        RequestLog.Builder log = new RequestLog.Builder();
        for (int k = 0; k < size; k++) {
            log.add(start + k * step, ENTRY_TOKENS, ENTRY_TOKENS, 0);
        }
        try (StatefulRedisConnection<String, byte[]> bytes =
                     client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE))) {
            Map<String, byte[]> chunks = log.log();
            List<String> fields = new ArrayList<>(chunks.keySet());
            for (int from = 0; from < fields.size(); from += 1_000) {
                Map<String, byte[]> part = new HashMap<>();
                fields.subList(from, Math.min(fields.size(), from + 1_000)).forEach(f -> part.put(f, chunks.get(f)));
                bytes.sync().hset(keys.keys()[1], part);
            }
            bytes.sync().hset(keys.keys()[2], log.state());
        }
        redis.pexpire(keys.keys()[1], 600_000);
        redis.pexpire(keys.keys()[2], 600_000);
        return start + (size - 1) * step;
    }

    /** Runs the call {@code calls} times; returns Redis's microseconds per EVALSHA in between. */
    private double time(IntConsumer call) {
        RedisStats before = ctx.probe().stats();
        for (int i = 0; i < calls; i++) {
            call.accept(i);
        }
        RedisStats diff = ctx.probe().stats().minus(before);
        RedisStats.Command evalsha = diff.commands().get("evalsha");
        check(evalsha != null && evalsha.calls() == calls, "expected " + calls + " EVALSHA calls, saw " + evalsha);
        long inner = 0;
        for (RedisStats.Command c : diff.commands().values()) {
            if (!java.util.Set.of("evalsha", "info", "eval", "script").contains(c.name())) {
                inner += c.calls();
            }
        }
        lastCommands = Math.round(10.0 * inner / calls) / 10.0;
        return Math.round(10.0 * evalsha.micros() / evalsha.calls()) / 10.0;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }
}
