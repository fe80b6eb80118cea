package io.llmlimiter.server;

import io.javalin.Javalin;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.server.ProblemException.Kind;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import jakarta.servlet.DispatcherType;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin server: REST under {@code /api/v1} (bearer token), {@code /health}, {@code /metrics},
 * {@code /openapi.json} and the dashboard at {@code /} (with each target's last 15 minutes, sampled
 * in memory by a {@link HistorySampler}), over a {@link ConfigStore} kept in step with
 * Redis by a {@link ConfigReconciler}. Started and stopped programmatically, so the {@code serve}
 * and {@code demo} commands and tests run it in-process:
 *
 * <pre>{@code
 * try (AdminServer server = AdminServer.builder().admin(limiter.admin()).redis(uri).token(token).port(0).start()) {
 *     System.out.println("dashboard at " + server.url());
 * }
 * }</pre>
 *
 * Thread-safe.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);

    private final Javalin app;
    private final RedisConfigs redisConfigs;
    private final ConfigStore store;
    private final ConfigReconciler reconciler;
    private final ServerMetrics metrics;
    private final HistorySampler history;
    private final List<String> routes;
    private final String host;
    private final Javalin metricsApp;
    private final String metricsHost;

    private AdminServer(Builder b) throws IOException {
        Path auditPath = b.auditLog != null ? b.auditLog : b.configFile.toAbsolutePath().resolveSibling("audit.log");
        this.redisConfigs = RedisConfigs.open(b.redis, Duration.ofSeconds(10));
        try {
            if (b.prices != null) {
                loadPrices(redisConfigs, b.prices);
            }
            this.store = ConfigStore.open(b.admin, redisConfigs, new ConfigFile(b.configFile),
                    new AuditLog(auditPath, Clock.systemUTC()));
        } catch (IOException | RuntimeException e) {
            redisConfigs.close();
            throw e;
        }
        Snapshots snapshots = new Snapshots(b.admin, b.registry);
        this.metrics = new ServerMetrics(b.registry, b.admin, snapshots);
        this.history = new HistorySampler(snapshots);
        this.reconciler = new ConfigReconciler(store, b.registry, b.reconcileInterval, b.tombstoneRetention);
        this.host = b.host;
        List<String> added = Collections.synchronizedList(new ArrayList<>());
        BearerAuth auth = new BearerAuth(b.token);
        SystemRoutes system = new SystemRoutes(store, metrics);
        this.app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.http.maxRequestSize = Bodies.IMPORT_MAX_BYTES;
            cfg.http.prefer405over404 = true;
            cfg.jetty.modifyServer(server -> server.setErrorHandler(new JettyProblems()));
            cfg.jetty.modifyServletContextHandler(handler -> handler.addFilter(TargetPaths.filter(),
                    TargetRoutes.BASE + "/*", EnumSet.of(DispatcherType.REQUEST)));
            cfg.events.handlerAdded(meta -> {
                if (meta.getHttpMethod().isHttpMethod()) {
                    added.add(meta.getHttpMethod().name() + " " + meta.getPath());
                }
            });
            cfg.routes.before(metrics::startRequest);
            // Matched routes only: a 401 is then tagged with its route template in the metrics.
            cfg.routes.beforeMatched("/api/v1/*", auth);
            // Target names and limits are the operator's business: on the main port /metrics needs the token too.
            cfg.routes.beforeMatched(SystemRoutes.METRICS, auth);
            new TargetRoutes(store).register(cfg.routes);
            new StatsRoutes(store, snapshots).register(cfg.routes);
            new HistoryRoutes(history).register(cfg.routes);
            new TransferRoutes(store).register(cfg.routes);
            new PriceRoutes(redisConfigs).register(cfg.routes);
            system.register(cfg.routes);
            new Dashboard().register(cfg.routes);
            cfg.routes.exception(Exception.class, Problems::handle);
            cfg.routes.error(404, ctx -> {
                if (ctx.attribute(Problems.WRITTEN) == null) {
                    Problems.write(ctx, new ProblemException(Kind.NOT_FOUND, "No route " + ctx.method().name() + " "
                            + ctx.path() + "; see /openapi.json"));
                }
            });
            cfg.routes.error(405, ctx -> {
                if (ctx.attribute(Problems.WRITTEN) == null) {
                    Problems.write(ctx, new ProblemException(Kind.METHOD_NOT_ALLOWED, "Method " + ctx.method().name()
                            + " is not allowed on " + ctx.path() + "; see /openapi.json"));
                }
            });
            // A change made here shows at once in the next stats, metrics and history reads.
            cfg.routes.after("/api/v1/*", ctx -> {
                if (!ctx.method().name().equals("GET") && !ctx.method().name().equals("HEAD")) {
                    snapshots.invalidate();
                }
            });
            cfg.routes.after(metrics::endRequest);
        });
        this.routes = List.copyOf(added);
        // One pass before serving: a started server guarantees Redis holds the file's configs.
        reconciler.reconcileOnce();
        reconciler.start(b.reconcileInterval);
        history.start();
        this.metricsApp = b.metricsPort < 0 ? null : metricsOnly(system);
        this.metricsHost = b.metricsHost != null ? b.metricsHost : b.host;
        try {
            app.start(b.host, b.port);
            if (metricsApp != null) {
                metricsApp.start(metricsHost, b.metricsPort);
            }
        } catch (RuntimeException e) {
            app.stop();
            reconciler.close();
            history.close();
            redisConfigs.close();
            throw e;
        }
        LOG.info("admin server listening on {} (config file {}, audit log {})", url(), store.file().path(), auditPath);
    }

    /** A listener that serves {@code GET /metrics} alone, without a token, for Prometheus on a private network. */
    private static Javalin metricsOnly(SystemRoutes system) {
        return Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.jetty.modifyServer(server -> server.setErrorHandler(new JettyProblems()));
            cfg.routes.get(SystemRoutes.METRICS, system::metrics);
            cfg.routes.exception(Exception.class, Problems::handle);
            cfg.routes.error(404, ctx -> {
                if (ctx.attribute(Problems.WRITTEN) == null) {
                    Problems.write(ctx, new ProblemException(Kind.NOT_FOUND, "This listener serves only GET "
                            + SystemRoutes.METRICS));
                }
            });
        });
    }

    private static void loadPrices(RedisConfigs redis, Path file) throws IOException {
        String json;
        try {
            json = java.nio.file.Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("--prices " + file + ": cannot be read: " + e.getMessage());
        }
        try {
            var loaded = PriceRoutes.load(redis, json);
            LOG.info("price table {} loaded into Redis: {} models (sha {})", file, loaded.get("models"), loaded.get("sha").asText());
        } catch (ProblemException e) {
            throw new IllegalArgumentException("--prices " + file + ": " + e.getMessage());
        }
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the port the server listens on */
    public int port() {
        return app.port();
    }

    /** @return the base URL, e.g. {@code http://127.0.0.1:7070} (loopback when bound to all interfaces) */
    public String url() {
        String h = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        return "http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + port();
    }

    /**
     * @return the URL of the separate metrics listener, e.g. {@code http://127.0.0.1:9464/metrics},
     *     when {@link Builder#metricsPort(int)} was set
     */
    public Optional<String> metricsUrl() {
        if (metricsApp == null) {
            return Optional.empty();
        }
        String h = metricsHost.equals("0.0.0.0") || metricsHost.equals("::") ? "127.0.0.1" : metricsHost;
        return Optional.of("http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + metricsApp.port()
                + SystemRoutes.METRICS);
    }

    /** @return the config store */
    public ConfigStore store() {
        return store;
    }

    /** @return the reconciler (tests run passes on demand) */
    public ConfigReconciler reconciler() {
        return reconciler;
    }

    /** @return the server's meters */
    public ServerMetrics metrics() {
        return metrics;
    }

    /** @return every HTTP route, as {@code METHOD /path/{param}} */
    public List<String> routes() {
        return routes;
    }

    /** Stops serving and stops the reconciler; Redis and the files stay as they are. */
    @Override
    public void close() {
        if (metricsApp != null) {
            metricsApp.stop();
        }
        app.stop();
        reconciler.close();
        history.close();
        redisConfigs.close();
    }

    /** Builds and starts an {@link AdminServer}. Not thread-safe. */
    public static final class Builder {
        private LimiterAdmin admin;
        private String token;
        private Path configFile = Path.of("data", "llm_configs.json");
        private Path auditLog;
        private MeterRegistry registry;
        private String host = "0.0.0.0";
        private int port = 7070;
        private Duration reconcileInterval = Duration.ofSeconds(1);
        private Duration tombstoneRetention = ConfigReconciler.DEFAULT_TOMBSTONE_RETENTION;
        private String redis;
        private int metricsPort = -1;
        private String metricsHost;
        private Path prices;

        private Builder() {
        }

        /**
         * @param admin the limiter's admin (from {@code LlmLimiter.admin()}); required
         * @return this builder
         */
        public Builder admin(LimiterAdmin admin) {
            this.admin = Objects.requireNonNull(admin, "admin");
            return this;
        }

        /**
         * @param uri the Redis the limiter uses ({@code redis://}, {@code rediss://},
         *     {@code redis-sentinel://}, {@code redis-cluster://}); required: the server writes configs
         *     and their revisions over its own connection, in transactions
         * @return this builder
         */
        public Builder redis(String uri) {
            if (uri == null || uri.isBlank()) {
                throw new IllegalArgumentException("redis uri must not be blank");
            }
            this.redis = uri;
            return this;
        }

        /**
         * @param retention how long Redis and the file keep a deleted target's tombstone once both
         *     hold it (default 7 days): a server or a Redis copy away for longer may bring it back
         * @return this builder
         */
        public Builder tombstoneRetention(Duration retention) {
            if (retention == null || retention.isNegative()) {
                throw new IllegalArgumentException("tombstoneRetention must not be negative, got " + retention);
            }
            this.tombstoneRetention = retention;
            return this;
        }

        /**
         * @param token the admin token every {@code /api/v1} request must carry; required
         * @return this builder
         */
        public Builder token(String token) {
            if (token == null || token.isBlank()) {
                throw new IllegalArgumentException("admin token must not be blank");
            }
            this.token = token;
            return this;
        }

        /**
         * @param path the config file (default {@code data/llm_configs.json}); created on first start
         * @return this builder
         */
        public Builder configFile(Path path) {
            this.configFile = Objects.requireNonNull(path, "configFile");
            return this;
        }

        /**
         * @param path the audit log (default {@code audit.log} next to the config file)
         * @return this builder
         */
        public Builder auditLog(Path path) {
            this.auditLog = Objects.requireNonNull(path, "auditLog");
            return this;
        }

        /**
         * @param registry where meters go (default a new Prometheus registry); {@code /metrics}
         *     serves it when it is (or contains) a Prometheus registry
         * @return this builder
         */
        public Builder meterRegistry(MeterRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /**
         * @param host the interface to bind (default {@code 0.0.0.0})
         * @return this builder
         */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /**
         * @param port the port (default 7070; 0 picks a free one)
         * @return this builder
         */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * Also serves {@code GET /metrics}, alone and without a token, on a separate listener: for a
         * Prometheus on a private network, while the main port keeps {@code /metrics} behind the token.
         *
         * @param port the metrics port (0 picks a free one); not set by default (no separate listener)
         * @return this builder
         */
        public Builder metricsPort(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("metricsPort must be between 0 and 65535, got " + port);
            }
            this.metricsPort = port;
            return this;
        }

        /**
         * @param host the interface the separate metrics listener binds (default: the main {@link #host})
         * @return this builder
         */
        public Builder metricsHost(String host) {
            this.metricsHost = Objects.requireNonNull(host, "metricsHost");
            return this;
        }

        /**
         * @param interval the pause between reconciler passes (default 1 s)
         * @return this builder
         */
        public Builder reconcileInterval(Duration interval) {
            if (interval == null || interval.toMillis() < 10 || interval.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new IllegalArgumentException("reconcileInterval must be between 10ms and 10m, got " + interval);
            }
            this.reconcileInterval = interval;
            return this;
        }

        /**
         * @param file a price table (genai-prices shape) loaded into Redis at start, for every
         *     client; a table that does not parse stops the start, naming the field
         * @return this builder
         */
        public Builder prices(Path file) {
            this.prices = Objects.requireNonNull(file, "prices");
            return this;
        }

        /**
         * Opens the config store (seeding it on first start), starts the reconciler and serves.
         *
         * @return the running server
         * @throws IOException when the config file cannot be written
         * @throws IllegalArgumentException when the config file is not valid, naming the entry and field
         */
        public AdminServer start() throws IOException {
            if (admin == null || token == null || redis == null) {
                throw new IllegalStateException("admin, redis and token are required");
            }
            if (registry == null) {
                registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            }
            return new AdminServer(this);
        }
    }
}
