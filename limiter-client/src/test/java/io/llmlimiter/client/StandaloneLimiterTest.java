package io.llmlimiter.client;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import org.junit.jupiter.api.Tag;

/** The behaviour suite against one standalone Redis. */
@Tag("redis-features")
@WithRedis
class StandaloneLimiterTest extends LimiterBehaviourSuite {

    private final RedisProcess redis;

    StandaloneLimiterTest(RedisProcess redis) {
        this.redis = redis;
    }

    @Override
    protected String redisUri() {
        return redis.uri();
    }

    @Override
    protected void scriptFlush() {
        try (RedisClient c = RedisClient.create(redis.uri()); StatefulRedisConnection<String, String> conn = c.connect()) {
            conn.sync().scriptFlush();
        }
    }
}
