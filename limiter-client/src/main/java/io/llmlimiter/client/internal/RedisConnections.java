package io.llmlimiter.client.internal;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisLoadingException;
import io.lettuce.core.RedisReadOnlyException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.PipelinedRedisFuture;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.api.StatefulRedisConnection;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The limiter's two connections (commands and pub/sub) to a standalone Redis, a Sentinel-managed
 * master ({@code redis-sentinel://}) or a Redis Cluster ({@code redis-cluster://host:port,host:port}).
 * Commands to a standalone or Sentinel-managed Redis fail at once while disconnected instead of
 * queueing (a queued command could run after its caller gave up); cluster commands wait at most
 * the command timeout. Callers that may wait (a blocking acquire) retry such failures within
 * their own deadline, see {@link #unreachable(Throwable)}. A Redis that cannot be reached when
 * the limiter is built is connected to in the background, with retries, until it answers; until
 * then commands fail as if disconnected. This class is thread-safe.
 */
final class RedisConnections implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RedisConnections.class);
    private static final String CLUSTER = "redis-cluster://";
    private static final String CLUSTER_TLS = "rediss-cluster://";
    private static final long FIRST_RETRY_MILLIS = 100;
    private static final long MAX_RETRY_MILLIS = 2000;

    private final AbstractRedisClient client;
    private final ClientResources resources;
    private final Connector connector;
    private final String redacted;
    private final RedisClusterAsyncCommands<String, String> commands;
    private final CompletableFuture<StatefulRedisPubSubConnection<String, String>> pubsub = new CompletableFuture<>();

    // Mutable state
    private volatile Live live;
    private volatile boolean closed;
    private volatile ScheduledExecutorService reconnector;

    /** Both connections once open. */
    private record Live(StatefulConnection<String, String> connection,
                        RedisClusterAsyncCommands<String, String> commands,
                        StatefulRedisPubSubConnection<String, String> pubsub) {
    }

    private RedisConnections(AbstractRedisClient client, ClientResources resources, Connector connector,
                             String redacted, Live live) {
        this.client = client;
        this.resources = resources;
        this.connector = connector;
        this.redacted = redacted;
        this.live = live;
        if (live != null) {
            this.commands = live.commands();
            pubsub.complete(live.pubsub());
        } else {
            this.commands = notYetConnected();
        }
    }

    /**
     * Opens both connections; a Redis that is merely unreachable now is connected to in the
     * background.
     *
     * @throws IllegalArgumentException when the URI is not valid
     * @throws RuntimeException when Redis answers but refuses the connection (authentication, TLS)
     */
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
            return connect(c, resources, uri, () -> {
                StatefulRedisClusterConnection<String, String> conn = c.connect(StringCodec.UTF8);
                try {
                    return new Live(conn, conn.async(), c.connectPubSub(StringCodec.UTF8));
                } catch (RuntimeException e) {
                    conn.close();
                    throw e;
                }
            });
        }
        RedisClient c = RedisClient.create(resources, uris.get(0));
        ClientOptions.Builder o = ClientOptions.builder().timeoutOptions(TimeoutOptions.enabled(timeout))
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS);
        if (ssl != null) {
            o.sslOptions(ssl);
        }
        c.setOptions(o.build());
        return connect(c, resources, uri, () -> {
            StatefulRedisConnection<String, String> conn = c.connect(StringCodec.UTF8);
            try {
                return new Live(conn, conn.async(), c.connectPubSub(StringCodec.UTF8));
            } catch (RuntimeException e) {
                conn.close();
                throw e;
            }
        });
    }

    /**
     * @return the async commands; before the first connection they fail with a
     *     {@link RedisConnectionException}, as commands do while disconnected
     */
    RedisClusterAsyncCommands<String, String> commands() {
        return commands;
    }

    /** @return completes with the pub/sub connection once it is open */
    CompletableFuture<StatefulRedisPubSubConnection<String, String>> pubsub() {
        return pubsub;
    }

    /**
     * Whether a failure means Redis could not be reached (down, restarting, failing over, or not
     * connected yet), so the same command may succeed once it is back. Errors Redis answered with
     * (a script error, a refused password) are not.
     *
     * @param error a command's failure
     * @return true when waiting for Redis may help
     */
    static boolean unreachable(Throwable error) {
        for (Throwable e = error; e != null; e = e.getCause() == e ? null : e.getCause()) {
            if (e instanceof RedisConnectionException || e instanceof RedisCommandTimeoutException
                    || e instanceof RedisLoadingException || e instanceof RedisReadOnlyException
                    || e instanceof java.io.IOException) {
                return true;
            }
            if (e instanceof RedisCommandExecutionException) {
                String m = String.valueOf(e.getMessage());
                return m.startsWith("MASTERDOWN") || m.startsWith("CLUSTERDOWN") || m.startsWith("TRYAGAIN")
                        || m.startsWith("LOADING") || m.startsWith("READONLY");
            }
            if (e instanceof RedisException) {
                String m = String.valueOf(e.getMessage());
                // Lettuce's wording for a command rejected or cut off by a lost connection.
                if (m.startsWith("Currently not connected") || m.startsWith("Connection closed")
                        || m.startsWith("Connection disconnected") || m.contains("connection is closed")) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public void close() {
        closed = true;
        ScheduledExecutorService r = reconnector;
        if (r != null) {
            r.shutdownNow();
        }
        Live l = live;
        if (l != null) {
            l.pubsub().close();
            l.connection().close();
        }
        client.shutdown(0, 2, TimeUnit.SECONDS);
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }

    private interface Connector {
        Live connect();
    }

    private static RedisConnections connect(AbstractRedisClient client, ClientResources resources, String uri,
                                            Connector connector) {
        String redacted = Redacted.uri(uri);
        try {
            return new RedisConnections(client, resources, connector, redacted, connector.connect());
        } catch (RuntimeException e) {
            if (!unreachable(e) || refused(e)) {
                client.shutdown(0, 0, TimeUnit.MILLISECONDS);
                resources.shutdown(0, 0, TimeUnit.MILLISECONDS);
                throw e;
            }
            log.warn("Redis at {} is unreachable ({}); connecting in the background, calls wait for it within "
                    + "their deadlines", redacted, Redacted.message(e));
            RedisConnections lazy = new RedisConnections(client, resources, connector, redacted, null);
            lazy.connectInBackground();
            return lazy;
        }
    }

    /** An answer from Redis or a TLS peer that refuses us: waiting does not help, so fail at build. */
    private static boolean refused(Throwable error) {
        for (Throwable e = error; e != null; e = e.getCause() == e ? null : e.getCause()) {
            if (e instanceof RedisCommandExecutionException || e instanceof javax.net.ssl.SSLException
                    || e instanceof java.security.GeneralSecurityException) {
                return true;
            }
        }
        return false;
    }

    private void connectInBackground() {
        ScheduledExecutorService r = Executors.newSingleThreadScheduledExecutor(t -> {
            Thread th = new Thread(t, "llmlim-connect");
            th.setDaemon(true);
            return th;
        });
        reconnector = r;
        r.schedule(() -> tryConnect(r, FIRST_RETRY_MILLIS), FIRST_RETRY_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void tryConnect(ScheduledExecutorService r, long delayMillis) {
        if (closed) {
            return;
        }
        Live l;
        try {
            l = connector.connect();
        } catch (RuntimeException e) {
            log.debug("Redis at {} still unreachable: {}", redacted, Redacted.message(e));
            long next = Math.min(MAX_RETRY_MILLIS, delayMillis * 2);
            if (!closed) {
                r.schedule(() -> tryConnect(r, next), next, TimeUnit.MILLISECONDS);
            }
            return;
        }
        if (closed) {
            l.pubsub().close();
            l.connection().close();
            return;
        }
        live = l;
        pubsub.complete(l.pubsub());
        log.info("connected to Redis at {}", redacted);
        r.shutdown();
    }

    /**
     * Commands that go to the connection once it is open; until then each fails at once, as a
     * disconnected connection rejects commands.
     */
    @SuppressWarnings("unchecked")
    private RedisClusterAsyncCommands<String, String> notYetConnected() {
        InvocationHandler handler = (proxy, method, args) -> {
            Live l = live;
            if (l != null) {
                try {
                    return method.invoke(l.commands(), args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            }
            if (method.getDeclaringClass() == Object.class) {
                return switch (method.getName()) {
                    case "equals" -> proxy == args[0];
                    case "hashCode" -> System.identityHashCode(proxy);
                    default -> "RedisCommands[not connected to " + redacted + " yet]";
                };
            }
            RedisConnectionException e = new RedisConnectionException("not connected to Redis at " + redacted
                    + " yet");
            if (RedisFuture.class.isAssignableFrom(method.getReturnType())) {
                return new PipelinedRedisFuture<>(CompletableFuture.failedFuture(e));
            }
            throw e;
        };
        return (RedisClusterAsyncCommands<String, String>) Proxy.newProxyInstance(
                RedisClusterAsyncCommands.class.getClassLoader(), new Class<?>[] {RedisClusterAsyncCommands.class},
                handler);
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
