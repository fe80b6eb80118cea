package io.llmlimiter.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;
import org.redisson.config.SingleServerConfig;

/** Connects Redisson to the Redis under test with Redisson's default pools and threads. */
final class Redissons {

    private Redissons() {
    }

    /**
     * @param endpoint the Redis under test
     * @return a client with every pool and thread setting at Redisson's default
     */
    static RedissonClient connect(RedisEndpoint endpoint) {
        Config config = new Config();
        SingleServerConfig server = config.useSingleServer().setAddress(endpoint.address())
                .setDatabase(endpoint.database());
        if (endpoint.password() != null) {
            server.setPassword(endpoint.password());
        }
        if (endpoint.username() != null) {
            server.setUsername(endpoint.username());
        }
        return Redisson.create(config);
    }

    /** @return Redisson's defaults as this version ships them, for the report */
    static Map<String, Object> defaults() {
        Config config = new Config();
        SingleServerConfig server = config.useSingleServer();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("connectionPoolSize", server.getConnectionPoolSize());
        out.put("connectionMinimumIdleSize", server.getConnectionMinimumIdleSize());
        out.put("subscriptionConnectionPoolSize", server.getSubscriptionConnectionPoolSize());
        out.put("nettyThreads", config.getNettyThreads());
        out.put("threads", config.getThreads());
        return out;
    }
}
