package io.llmlimiter.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Redis's own floor: a Lua script through one Lettuce connection shared by all load threads,
 * the same way an {@code LlmLimiter} talks to Redis. Two scripts: {@code return 1} (the cost of
 * a script round trip and nothing else) and a minimal sliding log (what any exact sliding-window
 * limiter must at least do). Thread-safe.
 */
public final class ScriptContender implements Contender {

    private static final String TRIVIAL = "return 1";

    // Numbers go through string.format: Lua prints 16-digit microsecond times in exponent form.
    private static final String SLIDING_LOG = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - tonumber(ARGV[3])))
            if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
              redis.call('ZADD', KEYS[1], string.format('%d', now), ARGV[1])
              return 1
            end
            return 0""";

    private static final String HUGE = "100000000";
    private static final String MINUTE_MICROS = "60000000";

    private final String key;
    private final String label;
    private final boolean slidingLog;
    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final RedisCommands<String, String> redis;
    private final String sha;

    private ScriptContender(String uri, String key, String label, boolean slidingLog) {
        this.key = key;
        this.label = label;
        this.slidingLog = slidingLog;
        this.client = RedisClient.create(uri);
        this.connection = client.connect(StringCodec.UTF8);
        this.redis = connection.sync();
        this.sha = redis.scriptLoad(slidingLog ? SLIDING_LOG : TRIVIAL);
    }

    /**
     * @param uri the Redis URI
     * @return {@code EVALSHA} of {@code return 1}
     */
    public static ScriptContender floor(String uri) {
        return new ScriptContender(uri, "floor", "Redis floor: EVALSHA `return 1`", false);
    }

    /**
     * @param uri the Redis URI
     * @return {@code EVALSHA} of ZREMRANGEBYSCORE + ZCARD + ZADD on one sorted set
     */
    public static ScriptContender slidingLog(String uri) {
        return new ScriptContender(uri, "sliding_log", "Minimal sliding log: ZREMRANGEBYSCORE+ZCARD+ZADD", true);
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public String label() {
        return label;
    }

    @Override
    public Op unlimited(String namespace) {
        if (!slidingLog) {
            return thread -> redis.evalsha(sha, ScriptOutputType.INTEGER);
        }
        String[] keys = {"bench:" + namespace + ":log"};
        return thread -> {
            String member = Long.toString(ThreadLocalRandom.current().nextLong(), 36);
            Long admitted = redis.evalsha(sha, ScriptOutputType.INTEGER, keys, member, HUGE, MINUTE_MICROS);
            if (admitted == null || admitted != 1) {
                throw new IllegalStateException("sliding log refused");
            }
        };
    }

    @Override
    public String keyPattern(String namespace) {
        return "bench:" + namespace + ":*";
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown();
    }
}
