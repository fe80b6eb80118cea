package io.llmlimiter.client.internal;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The limiter's two connections (commands and pub/sub) to a standalone Redis, a Sentinel-managed
 * master ({@code redis-sentinel://}) or a Redis Cluster ({@code redis-cluster://host:port,host:port}).
 * Commands to a standalone or Sentinel-managed Redis fail at once while disconnected instead of
 * queueing; cluster commands wait at most the command timeout. Either way a caller learns within
 * its deadline that Redis is gone. This class is thread-safe.
 */
final class RedisConnections implements AutoCloseable {

    private static final String CLUSTER = "redis-cluster://";
    private static final String CLUSTER_TLS = "rediss-cluster://";

    private final AbstractRedisClient client;
    private final ClientResources resources;
    private final StatefulConnection<String, String> connection;
    private final RedisClusterAsyncCommands<String, String> commands;
    private final StatefulRedisPubSubConnection<String, String> pubsub;

    private RedisConnections(AbstractRedisClient client, ClientResources resources,
                             StatefulConnection<String, String> connection,
                             RedisClusterAsyncCommands<String, String> commands,
                             StatefulRedisPubSubConnection<String, String> pubsub) {
        this.client = client;
        this.resources = resources;
        this.connection = connection;
        this.commands = commands;
        this.pubsub = pubsub;
    }

    static RedisConnections open(String uri, Duration timeout, Path trustedCertificate) {
        boolean cluster = uri.startsWith(CLUSTER) || uri.startsWith(CLUSTER_TLS);
        List<RedisURI> uris = cluster ? clusterUris(uri) : List.of(parse(uri));
        uris.forEach(u -> u.setTimeout(timeout));
        // Reconnect quickly after a restart or failover: Lettuce's default backoff grows to 30 s.
        ClientResources resources = ClientResources.builder()
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
                .build();
        SslOptions ssl = trustedCertificate == null ? null
                : SslOptions.builder().jdkSslProvider().trustManager(trustedCertificate.toFile()).build();
        if (cluster) {
            RedisClusterClient c = RedisClusterClient.create(resources, uris);
            // Cluster node connections open lazily, so commands wait (up to the timeout) for a
            // node to connect instead of being rejected.
            ClusterClientOptions.Builder o = ClusterClientOptions.builder()
                    .timeoutOptions(TimeoutOptions.enabled(timeout))
                    .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                            .enablePeriodicRefresh(Duration.ofSeconds(10)).enableAllAdaptiveRefreshTriggers().build());
            if (ssl != null) {
                o.sslOptions(ssl);
            }
            c.setOptions(o.build());
            return connect(c, resources, () -> {
                StatefulRedisClusterConnection<String, String> conn = c.connect(StringCodec.UTF8);
                return new RedisConnections(c, resources, conn, conn.async(), c.connectPubSub(StringCodec.UTF8));
            });
        }
        RedisClient c = RedisClient.create(resources, uris.get(0));
        ClientOptions.Builder o = ClientOptions.builder().timeoutOptions(TimeoutOptions.enabled(timeout))
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS);
        if (ssl != null) {
            o.sslOptions(ssl);
        }
        c.setOptions(o.build());
        return connect(c, resources, () -> {
            StatefulRedisConnection<String, String> conn = c.connect(StringCodec.UTF8);
            return new RedisConnections(c, resources, conn, conn.async(), c.connectPubSub(StringCodec.UTF8));
        });
    }

    RedisClusterAsyncCommands<String, String> commands() {
        return commands;
    }

    StatefulRedisPubSubConnection<String, String> pubsub() {
        return pubsub;
    }

    @Override
    public void close() {
        pubsub.close();
        connection.close();
        client.shutdown(0, 2, TimeUnit.SECONDS);
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }

    private interface Connector {
        RedisConnections connect();
    }

    private static RedisConnections connect(AbstractRedisClient client, ClientResources resources, Connector connector) {
        try {
            return connector.connect();
        } catch (RuntimeException e) {
            client.shutdown(0, 0, TimeUnit.MILLISECONDS);
            resources.shutdown(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    private static RedisURI parse(String uri) {
        try {
            return RedisURI.create(uri);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("redis uri is not valid: " + Redacted.uri(uri));
        }
    }

    /** {@code redis-cluster://[user:pass@]h1:p1,h2:p2} becomes one {@code redis://} URI per seed node. */
    private static List<RedisURI> clusterUris(String uri) {
        boolean tls = uri.startsWith(CLUSTER_TLS);
        String rest = uri.substring(tls ? CLUSTER_TLS.length() : CLUSTER.length());
        String userInfo = "";
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            userInfo = rest.substring(0, at + 1);
            rest = rest.substring(at + 1);
        }
        List<RedisURI> out = new ArrayList<>();
        for (String host : rest.split(",")) {
            if (!host.isBlank()) {
                out.add(parse((tls ? "rediss://" : "redis://") + userInfo + host.trim()));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("redis uri is not valid: " + Redacted.uri(uri) + " names no node");
        }
        return out;
    }
}
