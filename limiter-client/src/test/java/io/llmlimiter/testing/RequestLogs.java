package io.llmlimiter.testing;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.llmlimiter.scripts.RequestLog;
import java.util.List;

/** Reads and fills a target's packed request log directly, for tests that audit it. */
public final class RequestLogs {

    private RequestLogs() {
    }

    private static StatefulRedisConnection<String, byte[]> connect(RedisClient client) {
        return client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
    }

    /**
     * @param client a client of the target's Redis
     * @param target the target, as {@code provider/model}
     * @return every entry its log keeps, oldest first
     */
    public static List<RequestLog.Entry> read(RedisClient client, String target) {
        try (StatefulRedisConnection<String, byte[]> c = connect(client)) {
            return RequestLog.read(c.sync().hgetall("llmlim:{" + target + "}:log"),
                    c.sync().hgetall("llmlim:{" + target + "}:st"));
        }
    }

    /**
     * Writes a log as acquire would have, into a target with no log yet.
     *
     * @param client a client of the target's Redis
     * @param target the target, as {@code provider/model}
     * @param log the entries
     */
    public static void fill(RedisClient client, String target, RequestLog.Builder log) {
        try (StatefulRedisConnection<String, byte[]> c = connect(client)) {
            var chunks = log.log();
            if (!chunks.isEmpty()) {
                c.sync().hset("llmlim:{" + target + "}:log", chunks);
            }
            c.sync().hset("llmlim:{" + target + "}:st", log.state());
        }
    }
}
