package io.llmlimiter.server.cli;

import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.server.AdminServer;
import io.llmlimiter.server.EmbeddedRedis;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * What the demo runs on, all on this machine: a throwaway Redis, the mock provider, the limiter
 * and the admin server with its dashboard, whose config file and audit log live in a temporary
 * directory. Everything stops (and the directory goes) on {@link #close()}. This class is
 * thread-safe.
 */
public final class DemoEnvironment implements AutoCloseable {

    private final EmbeddedRedis redis;
    private final String redisUri;
    private final MockProvider provider;
    private final LlmLimiter limiter;
    private final AdminServer admin;
    private final String token;
    private final Path dir;
    private final AtomicBoolean closed = new AtomicBoolean();

    private DemoEnvironment(EmbeddedRedis redis, String redisUri, MockProvider provider, LlmLimiter limiter,
                            AdminServer admin, String token, Path dir) {
        this.redis = redis;
        this.redisUri = redisUri;
        this.provider = provider;
        this.limiter = limiter;
        this.admin = admin;
        this.token = token;
        this.dir = dir;
    }

    /**
     * Starts everything.
     *
     * @param redisUri a Redis to use instead of starting one, or null
     * @param adminPort the admin server's port, 0 for a free one
     * @param providerConfig the mock provider's first limits
     * @return the running environment
     * @throws IOException when Redis or the admin server cannot start
     */
    public static DemoEnvironment start(String redisUri, int adminPort, MockProviderConfig providerConfig)
            throws IOException {
        EmbeddedRedis redis = null;
        MockProvider provider = null;
        LlmLimiter limiter = null;
        Path dir = Files.createTempDirectory("llmlimiter-demo-");
        try {
            redis = redisUri == null ? EmbeddedRedis.start() : null;
            provider = MockProvider.start(providerConfig);
            String uri = redisUri == null ? redis.uri() : redisUri;
            limiter = LlmLimiter.builder().redis(uri).build();
            String token = newToken();
            AdminServer admin = AdminServer.builder().admin(limiter.admin()).redis(uri).token(token).host("127.0.0.1")
                    .port(adminPort).configFile(dir.resolve("llm_configs.json")).start();
            return new DemoEnvironment(redis, uri, provider, limiter, admin, token, dir);
        } catch (IOException | RuntimeException e) {
            closeQuietly(limiter, provider, redis);
            deleteTree(dir);
            throw e;
        }
    }

    /** @return the Redis URI the limiter and the workers use */
    public String redisUri() {
        return redisUri;
    }

    /** @return where the throwaway Redis came from, or null when one was given */
    public String redisSource() {
        return redis == null ? null : redis.source();
    }

    /** @return the mock provider */
    public MockProvider provider() {
        return provider;
    }

    /** @return the in-process limiter */
    public LlmLimiter limiter() {
        return limiter;
    }

    /** @return the dashboard URL */
    public String dashboardUrl() {
        return admin.url() + "/";
    }

    /** @return the admin REST API, authorised with this run's token */
    public AdminApi adminApi() {
        return new AdminApi(admin.url(), token);
    }

    /** @return this run's admin token (dev mode: random, valid while the demo runs) */
    public String token() {
        return token;
    }

    /** Stops the admin server, the limiter, the mock provider and Redis, and deletes the temporary files; once. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        admin.close();
        closeQuietly(limiter, provider, redis);
        deleteTree(dir);
    }

    private static String newToken() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static void closeQuietly(AutoCloseable... all) {
        for (AutoCloseable c : all) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    // Shutting down: nothing more to do about it.
                }
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // A temporary directory left behind is harmless.
        }
    }
}
