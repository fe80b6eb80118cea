package io.llmlimiter.server;

import io.llmlimiter.client.Durations;
import io.llmlimiter.client.LimiterUnavailableException;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.internal.Redacted;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code serve}: the admin server over a Redis, until the process is stopped. The admin token comes
 * from {@code LIMITER_ADMIN_TOKEN} (never from the command line, where {@code ps} would show it);
 * without one the command refuses to start unless {@code --dev} is given, which generates a token
 * and prints it once. Without {@code --redis} or {@code LIMITER_REDIS_URL} it starts an embedded
 * Redis and says so. Not thread-safe (one run per instance).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Runs the admin server: REST API under /api/v1, dashboard at /, /metrics, /health.",
            "The admin token is read from LIMITER_ADMIN_TOKEN."})
public final class ServeCommand implements Callable<Integer> {

    /** The environment variable holding the admin token. */
    public static final String TOKEN_ENV = "LIMITER_ADMIN_TOKEN";
    /** The environment variable holding the Redis URI. */
    public static final String REDIS_ENV = "LIMITER_REDIS_URL";
    /** The shortest admin token accepted. */
    public static final int MIN_TOKEN_LENGTH = 16;

    private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

    @Spec
    private CommandSpec spec;

    @Option(names = "--port", defaultValue = "7070", description = "HTTP port (0 picks a free one; default ${DEFAULT-VALUE})")
    private int port;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Interface to bind (default ${DEFAULT-VALUE})")
    private String host;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Also serve GET /metrics alone, without a token, on this port, for Prometheus on a private "
                    + "network (default: none; /metrics on --port always needs the admin token)")
    private Integer metricsPort;

    @Option(names = "--metrics-host", paramLabel = "HOST",
            description = "Interface the --metrics-port listener binds (default: the same as --host)")
    private String metricsHost;

    @Option(names = "--redis", paramLabel = "URI",
            description = "Redis URI, e.g. redis://host:6379 (default: $" + REDIS_ENV + "; none: an embedded dev Redis)")
    private String redis;

    @Option(names = "--config-file", defaultValue = "data/llm_configs.json",
            description = "Durable copy of the configs (default ${DEFAULT-VALUE}); the seed's file imports as is")
    private Path configFile;

    @Option(names = "--audit-log", description = "Audit log, one JSON line per change (default: audit.log next to the config file)")
    private Path auditLog;

    @Option(names = "--dev", description = "Development mode: without " + TOKEN_ENV + ", generate a token and print it once")
    private boolean dev;

    @Option(names = "--reconcile-interval", defaultValue = "1s", converter = DurationConverter.class,
            description = "How often Redis is checked against the config file (default ${DEFAULT-VALUE})")
    private Duration reconcileInterval;

    @Option(names = "--tombstone-retention", defaultValue = "7d", converter = DurationConverter.class,
            description = "How long Redis and the config file keep a deleted target's tombstone once both hold it "
                    + "(default ${DEFAULT-VALUE})")
    private Duration tombstoneRetention;

    @Option(names = "--prices", paramLabel = "FILE",
            description = "A price table (genai-prices data shape) to load into Redis for every client; the bundled one otherwise")
    private java.nio.file.Path prices;

    @Option(names = "--redis-wait", defaultValue = "30s", converter = DurationConverter.class,
            description = "How long to wait for Redis at startup (default ${DEFAULT-VALUE})")
    private Duration redisWait;

    private final Function<String, String> env;
    private final PrintStream out;
    private final CountDownLatch stopped = new CountDownLatch(1);

    /** The command as the command line runs it: real environment, standard output. */
    public ServeCommand() {
        this(System::getenv, System.out);
    }

    /**
     * @param env where environment variables are read
     * @param out where the generated dev token is printed
     */
    public ServeCommand(Function<String, String> env, PrintStream out) {
        this.env = env;
        this.out = out;
    }

    /**
     * Serves until the JVM is stopped.
     *
     * @return the exit code
     * @throws Exception when the server cannot start
     */
    @Override
    public Integer call() throws Exception {
        Running running = start();
        Runtime.getRuntime().addShutdownHook(new Thread(running::close, "llmlim-serve-shutdown"));
        stopped.await();
        return 0;
    }

    /**
     * Starts everything and returns at once (tests and embedding; {@link #call()} blocks).
     *
     * @return the running server, to be closed
     * @throws ParameterException when there is no token and no {@code --dev}
     * @throws Exception when Redis or the config file cannot be used
     */
    public Running start() throws Exception {
        if (metricsPort != null && (metricsPort < 0 || metricsPort > 65_535)) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--metrics-port': must be "
                    + "between 0 and 65535, got " + metricsPort);
        }
        String token = token();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        String uri = redis != null && !redis.isBlank() ? redis : env.apply(REDIS_ENV);
        EmbeddedRedis embedded = null;
        if (uri == null || uri.isBlank()) {
            embedded = EmbeddedRedis.start();
            uri = embedded.uri();
            LOG.warn("No --redis or {} given: started an embedded Redis ({}) at {} for development. Its data is lost "
                    + "when this process stops; the configs survive in {}.", REDIS_ENV, embedded.source(), uri,
                    configFile.toAbsolutePath());
        }
        long deadline = System.nanoTime() + redisWait.toNanos();
        while (true) {
            LlmLimiter limiter = null;
            try {
                limiter = LlmLimiter.builder().redis(uri).meterRegistry(registry).build();
                AdminServer.Builder b = AdminServer.builder().admin(limiter.admin()).redis(uri).token(token).configFile(configFile)
                        .meterRegistry(registry).host(host).port(port).reconcileInterval(reconcileInterval).tombstoneRetention(tombstoneRetention);
                if (auditLog != null) {
                    b.auditLog(auditLog);
                }
                if (prices != null) {
                    b.prices(prices);
                }
                if (metricsPort != null) {
                    b.metricsPort(metricsPort);
                }
                if (metricsHost != null) {
                    b.metricsHost(metricsHost);
                }
                AdminServer server = b.start();
                LOG.info("Redis {}; dashboard at {}/", Redacted.uri(uri), server.url());
                server.metricsUrl().ifPresent(m -> LOG.info("metrics without a token at {}", m));
                return new Running(server, limiter, embedded);
            } catch (LimiterUnavailableException | io.lettuce.core.RedisConnectionException e) {
                if (limiter != null) {
                    limiter.close();
                }
                if (System.nanoTime() > deadline) {
                    if (embedded != null) {
                        embedded.close();
                    }
                    throw e;
                }
                LOG.warn("Redis {} not reachable yet ({}); retrying", Redacted.uri(uri), Redacted.message(e));
                Thread.sleep(1000);
            } catch (RuntimeException | java.io.IOException e) {
                if (limiter != null) {
                    limiter.close();
                }
                if (embedded != null) {
                    embedded.close();
                }
                throw e;
            }
        }
    }

    private String token() {
        String token = env.apply(TOKEN_ENV);
        if (token == null || token.isBlank()) {
            if (!dev) {
                throw new ParameterException(spec.commandLine(), TOKEN_ENV + " is not set. Set it to a secret of at least "
                        + MIN_TOKEN_LENGTH + " characters, or pass --dev to generate a throwaway token.");
            }
            byte[] bytes = new byte[24];
            new SecureRandom().nextBytes(bytes);
            String generated = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
            // Printed, not logged: log files outlive the terminal.
            out.println("Dev admin token (shown once; paste it into the dashboard): " + generated);
            out.flush();
            return generated;
        }
        if (token.strip().length() < MIN_TOKEN_LENGTH) {
            throw new ParameterException(spec.commandLine(), TOKEN_ENV + " must be at least " + MIN_TOKEN_LENGTH
                    + " characters long.");
        }
        return token.strip();
    }

    /** Everything {@code serve} started; closing stops it in reverse order. Thread-safe. */
    public final class Running implements AutoCloseable {
        private final AdminServer server;
        private final LlmLimiter limiter;
        private final EmbeddedRedis embedded;
        private boolean closed;

        private Running(AdminServer server, LlmLimiter limiter, EmbeddedRedis embedded) {
            this.server = server;
            this.limiter = limiter;
            this.embedded = embedded;
        }

        /** @return the admin server */
        public AdminServer server() {
            return server;
        }

        /** @return the embedded Redis, or null when an external one is used */
        public EmbeddedRedis embeddedRedis() {
            return embedded;
        }

        /** Stops the server, the limiter and the embedded Redis. */
        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            server.close();
            limiter.close();
            if (embedded != null) {
                embedded.close();
            }
            stopped.countDown();
        }
    }

    /** Reads durations such as {@code 500ms}, {@code 2s}, {@code 1m}. Thread-safe. */
    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return Durations.parse("duration", value);
        }
    }
}
