package io.llmlimiter.bench;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The bench's own connection to the Redis under test, for readings that are not part of any
 * measured system: counters, memory, clean-up. It connects directly, never through the counting
 * proxy, so its commands are not counted as anyone's round trips. Thread-safe (Lettuce).
 */
public final class RedisProbe implements AutoCloseable {

    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final RedisCommands<String, String> redis;

    /**
     * Sums of {@code MEMORY USAGE} over a set of keys.
     *
     * @param bytes their memory, {@code SAMPLES 0} (every element counted)
     * @param perKey each key's memory
     */
    public record Memory(long bytes, Map<String, Long> perKey) {
    }

    /**
     * @param uri the Redis URI
     */
    public RedisProbe(String uri) {
        this.client = RedisClient.create(uri);
        this.connection = client.connect(StringCodec.UTF8);
        this.redis = connection.sync();
    }

    /** @return a reading of CPU, command totals and command stats */
    public RedisStats stats() {
        return RedisStats.parse(redis.info("cpu"), redis.info("stats"), redis.info("commandstats"));
    }

    /** @return the {@code INFO server} fields (redis_version, os, ...) */
    public Map<String, String> server() {
        return RedisStats.fields(redis.info("server"));
    }

    /**
     * Checks whether {@code total_commands_processed} counts the commands a script runs: a
     * script making three {@code redis.call}s moves it by 4 when they count, by 1 when not.
     *
     * @return whether script-internal commands are counted
     */
    public boolean scriptCallsCounted() {
        String key = "bench:probe:" + System.nanoTime();
        long before = stats().totalCommands();
        redis.eval("redis.call('SET', KEYS[1], '1'); redis.call('GET', KEYS[1]); redis.call('DEL', KEYS[1]); return 1",
                io.lettuce.core.ScriptOutputType.INTEGER, key);
        long after = stats().totalCommands();
        // Three INFO calls happen between the readings (stats() sends cpu, stats, commandstats).
        return after - before - 3 >= 4;
    }

    /**
     * @param pattern a {@code SCAN MATCH} pattern
     * @return the matching keys' {@code MEMORY USAGE ... SAMPLES 0}
     */
    public Memory memory(String pattern) {
        long bytes = 0;
        Map<String, Long> perKey = new TreeMap<>();
        for (String key : keys(pattern)) {
            Long b = redis.dispatch(CommandType.MEMORY, new IntegerOutput<>(StringCodec.UTF8),
                    new CommandArgs<>(StringCodec.UTF8).add("USAGE").addKey(key).add("SAMPLES").add(0));
            long v = b == null ? 0 : b;
            perKey.put(key, v);
            bytes += v;
        }
        return new Memory(bytes, perKey);
    }

    /**
     * Removes every key matching the pattern, so the next phase starts on an empty key space.
     *
     * @param pattern a {@code SCAN MATCH} pattern
     * @return how many keys were removed
     */
    public long delete(String pattern) {
        List<String> keys = keys(pattern);
        for (int i = 0; i < keys.size(); i += 500) {
            redis.unlink(keys.subList(i, Math.min(keys.size(), i + 500)).toArray(String[]::new));
        }
        return keys.size();
    }

    /**
     * @param pattern a {@code SCAN MATCH} pattern
     * @return the matching keys
     */
    public List<String> keys(String pattern) {
        List<String> out = new ArrayList<>();
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
            KeyScanCursor<String> page = redis.scan(cursor, ScanArgs.Builder.matches(pattern).limit(1000));
            out.addAll(page.getKeys());
            cursor = page;
        } while (!cursor.isFinished());
        return out;
    }

    /**
     * @param key a hash of counters
     * @return its fields as numbers (fields that are not numbers are left out)
     */
    public Map<String, Long> hash(String key) {
        Map<String, Long> out = new TreeMap<>();
        redis.hgetall(key).forEach((k, v) -> {
            try {
                out.put(k, Long.parseLong(v));
            } catch (NumberFormatException e) {
                // not a counter
            }
        });
        return out;
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown();
    }
}
