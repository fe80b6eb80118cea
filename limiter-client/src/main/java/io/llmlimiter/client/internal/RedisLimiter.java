package io.llmlimiter.client.internal;

import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.AsyncLlmCall;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LlmCall;
import io.llmlimiter.client.RetrySettings;
import io.llmlimiter.client.retry.ErrorClassifier;
import io.llmlimiter.client.retry.StatusExtractor;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.LimiterException;
import io.llmlimiter.client.LimiterUnavailableException;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.RateLimitedException;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.scripts.LuaScript;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Redis-backed {@link LlmLimiter}. This class is thread-safe. */
public final class RedisLimiter implements LlmLimiter {

    private static final Logger log = LoggerFactory.getLogger(RedisLimiter.class);
    /** Sends of a completion or release before it is given up: about six seconds plus the timeouts. */
    static final int BACKGROUND_TRIES = 8;

    /** Names this instance in its request ids (see {@link RequestIds#next(String)}). */
    private final String processId = RequestIds.process();
    private final RedisConnections connections;
    private final ScriptRunner scripts;
    private final WakeHub hub;
    private final ScheduledExecutorService timer;
    private final Duration commandTimeout;
    private final Duration ticketTtl;
    private final RedisAdmin admin;
    private final Options options;
    private final ProviderLimits providerLimits = new ProviderLimits();
    private final LimiterMetrics metrics;
    private final WaitTimes waitTimes = new WaitTimes(this);
    private final CallExecutor executor = new CallExecutor(this);
    private final Map<Target, CachedConfig> configs = new ConcurrentHashMap<>();
    private final DegradedMode degraded;
    private final RedisOutage outage = new RedisOutage();
    private final Callbacks callbacks;
    private final Map<Target, CompletableFuture<LimitConfig>> configReads = new ConcurrentHashMap<>();
    private final Map<LineKey, LocalLine> lines = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger lineSeq = new java.util.concurrent.atomic.AtomicInteger();
    private final StatsBatcher stats;
    private final CompletionBatcher completions = new CompletionBatcher(this);
    private final Pricing pricing = new Pricing(null);
    private final PriceSync priceSync;

    /**
     * What {@link LlmLimiter.Builder} collected.
     *
     * @param uri Redis URI
     * @param commandTimeout per-command timeout
     * @param ticketTtl how long a waiting ticket survives without its holder checking in
     * @param meterRegistry where meters go, or null
     * @param errorClassifier which failures are retried
     * @param statusExtractor how statuses are found in exceptions
     * @param trustedCertificate a PEM certificate (CA) to trust for TLS, or null for the JVM's trust store
     * @param degradedShare share of each limit a client may use alone while Redis is unreachable,
     *     or 0 to fail closed
     * @param executor where async results, continuations and user callbacks run, or null for a
     *     daemon pool the limiter owns and shuts down on close
     * @param configs the targets' configs this client re-creates when Redis has none (restarted
     *     empty), by target
     */
    public record Options(String uri, Duration commandTimeout, Duration ticketTtl, MeterRegistry meterRegistry,
                          ErrorClassifier errorClassifier, StatusExtractor statusExtractor,
                          java.nio.file.Path trustedCertificate, double degradedShare, Executor executor,
                          Map<Target, LimitConfig> configs) {

        /** Copies the configs, so the built limiter never changes. */
        public Options {
            configs = configs == null ? Map.of() : Map.copyOf(configs);
        }

        /** Options with the limiter's own callback pool and no configs. */
        public Options(String uri, Duration commandTimeout, Duration ticketTtl, MeterRegistry meterRegistry,
                       ErrorClassifier errorClassifier, StatusExtractor statusExtractor,
                       java.nio.file.Path trustedCertificate, double degradedShare) {
            this(uri, commandTimeout, ticketTtl, meterRegistry, errorClassifier, statusExtractor, trustedCertificate,
                    degradedShare, null, Map.of());
        }
    }

    /** A target's config as last read from Redis (null: none there), for retries and degraded mode. */
    private record CachedConfig(LimitConfig config, long readAtNanos) {
        boolean fresh() {
            return System.nanoTime() - readAtNanos < 1_000_000_000L;
        }
    }

    private RedisLimiter(RedisConnections connections, Options options) {
        this.connections = connections;
        this.scripts = new ScriptRunner(connections.commands());
        this.hub = new WakeHub(connections.pubsub());
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "llmlim-timer");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        // After close() a task is refused without the default handler, which takes the pool's lock
        // to describe it: refusals may come from Lettuce's event-loop threads, which never block.
        t.setRejectedExecutionHandler((task, pool) -> {
            throw REFUSED;
        });
        this.timer = t;
        this.options = options;
        this.commandTimeout = options.commandTimeout();
        this.ticketTtl = options.ticketTtl();
        this.metrics = new LimiterMetrics(options.meterRegistry());
        this.admin = new RedisAdmin(this);
        this.degraded = options.degradedShare() > 0
                ? new DegradedMode(options.degradedShare(), metrics.registry()) : null;
        this.callbacks = new Callbacks(options.executor(), () -> closedException(null));
        waitTimes.start();
        this.stats = new StatsBatcher(this);
        this.priceSync = new PriceSync(this);
        priceSync.start();
        // The bundled price table is read in the background now, so a first call seldom waits for it.
        pricing.ready();
    }

    /**
     * @param options what the builder collected
     * @return the limiter, connected, or connecting in the background when Redis is unreachable
     *     right now (calls wait for it within their deadlines)
     * @throws IllegalArgumentException when the URI is not valid
     * @throws LimiterUnavailableException when Redis refuses the connection (password, TLS)
     */
    public static RedisLimiter connect(Options options) {
        RedisConnections connections;
        try {
            connections = RedisConnections.open(options.uri(), options.commandTimeout(), options.trustedCertificate());
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new LimiterUnavailableException(null, "cannot connect to Redis at " + Redacted.uri(options.uri())
                    + ": " + Redacted.message(e), null);
        }
        return new RedisLimiter(connections, options);
    }

    @Override
    public Permit acquire(Target target, Tenant tenant, Estimate estimate, Duration maxWait) {
        Objects.requireNonNull(maxWait, "maxWait must not be null");
        Objects.requireNonNull(tenant, "tenant must not be null");
        ensureOpen(target);
        if (degraded == null) {
            return acquireFromRedis(target, tenant, estimate, maxWait);
        }
        long start = System.nanoTime();
        if (!degraded.skipRedis()) {
            degraded.redisTried();
            try {
                Permit p = acquireFromRedis(target, tenant, estimate, maxWait);
                degraded.redisAnswered();
                return p;
            } catch (LimiterUnavailableException e) {
                Duration left = maxWait.minusNanos(System.nanoTime() - start);
                return degraded.acquire(target, lastKnownConfig(target), estimate,
                        left.isNegative() ? Duration.ZERO : left, e);
            }
        }
        return degraded.acquire(target, lastKnownConfig(target), estimate, maxWait,
                new LimiterUnavailableException(target, "Redis was unreachable less than a second ago", null));
    }

    private Permit acquireFromRedis(Target target, Tenant tenant, Estimate estimate, Duration maxWait) {
        // Completed on the Redis thread itself: the caller waits here, and a busy callback
        // executor must never hold back a blocking acquire.
        AcquireCall call = new AcquireCall(this, target, tenant, estimate, maxWait, false);
        CompletableFuture<Permit> f = call.start();
        // The call finishes by itself at its deadline; the bound only guards against a lost reply.
        long bound = Math.max(0, maxWait.toMillis()) + 3 * commandTimeout.toMillis() + 1000;
        try {
            return f.get(bound, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // Cancelling leaves the line and releases a lease whose admission is still on its way.
            f.cancel(false);
            throw new RateLimitedException(target, "interrupted", "", Duration.ZERO);
        } catch (TimeoutException e) {
            f.cancel(false);
            throw new LimiterUnavailableException(target, target + ": no answer from Redis within " + bound + " ms", e);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    @Override
    public Optional<Permit> tryAcquire(Target target, Tenant tenant, Estimate estimate) {
        try {
            return Optional.of(acquire(target, tenant, estimate, Duration.ZERO));
        } catch (RateLimitedException e) {
            return Optional.empty();
        }
    }

    @Override
    public CompletableFuture<Permit> acquireAsync(Target target, Tenant tenant, Estimate estimate, Duration maxWait) {
        Objects.requireNonNull(maxWait, "maxWait must not be null");
        Objects.requireNonNull(tenant, "tenant must not be null");
        if (callbacks.closed()) {
            return CompletableFuture.failedFuture(closedException(target));
        }
        if (degraded == null) {
            return new AcquireCall(this, target, tenant, estimate, maxWait, true).start();
        }
        // The fallback blocks on an in-process monitor, so it runs off the Redis event loop.
        CompletableFuture<Permit> result = callbacks.track(new CompletableFuture<>());
        CompletableFuture.supplyAsync(() -> acquire(target, tenant, estimate, maxWait), degradedExecutor())
                .whenComplete((permit, e) -> callbacks.dispatch(() -> {
                    if (e != null) {
                        result.completeExceptionally(ScriptRunner.unwrap(e));
                    } else if (!result.complete(permit)) {
                        permit.completeAsync(null);
                    }
                }));
        return result;
    }

    @Override
    public <T> T execute(Target target, Tenant tenant, Estimate estimate, LlmCall<T> call) {
        Objects.requireNonNull(tenant, "tenant must not be null");
        ensureOpen(target);
        return executor.execute(target, tenant, estimate, call);
    }

    @Override
    public <T> CompletableFuture<T> executeAsync(Target target, Tenant tenant, Estimate estimate, AsyncLlmCall<T> call) {
        Objects.requireNonNull(tenant, "tenant must not be null");
        if (callbacks.closed()) {
            return CompletableFuture.failedFuture(closedException(target));
        }
        return executor.executeAsync(target, tenant, estimate, call);
    }

    @Override
    public void reportRateLimited(Target target, Duration pause) {
        await(target, "cooldown", cooldownAsync(target, pause));
    }

    @Override
    public void reportBudget(Target target, Resource resource, long remaining, Duration resetIn) {
        await(target, "signal", signalAsync(target, resource, remaining, resetIn));
    }

    CompletableFuture<Long> cooldownAsync(Target target, Duration pause) {
        long ms = Math.max(1, pause.toMillis());
        log.info("{} provider answered 429; every client of the target pauses {} ms", target, ms);
        return scripts.run(LuaScript.COOLDOWN, ScriptOutputType.INTEGER, Keys.of(target), Long.toString(ms), "");
    }

    CompletableFuture<Long> signalAsync(Target target, Resource resource, long remaining, Duration resetIn) {
        log.info("{} provider reports {} {} left for {} ms; the fleet slows down", target, Math.max(0, remaining),
                resource.label(), resetIn.toMillis());
        return scripts.run(LuaScript.SIGNAL, ScriptOutputType.INTEGER, Keys.of(target), resource.code(),
                Long.toString(Math.max(0, remaining)), Long.toString(Math.max(1, resetIn.toMillis())), "");
    }

    void countRetry(Target target) {
        scripts.commands().hincrby(Keys.of(target).stats(), "retries", 1);
    }

    /** The target's retry settings from its live config, read at most once a second. */
    RetrySettings retrySettings(Target target) {
        return await(target, "config", retrySettingsAsync(target));
    }

    /**
     * The target's retry settings without blocking: the cached config while it is fresh; a stale one
     * at once while a fresh read runs in the background; only the first use of a target waits for a
     * read. Never fails: without an answer from Redis the defaults apply (the acquire then says why).
     */
    CompletableFuture<RetrySettings> retrySettingsAsync(Target target) {
        CachedConfig cached = configs.get(target);
        if (cached != null && !cached.fresh()) {
            refreshConfig(target);
        }
        if (cached != null) {
            return CompletableFuture.completedFuture(settings(cached.config()));
        }
        return refreshConfig(target).thenApply(RedisLimiter::settings);
    }

    private static RetrySettings settings(LimitConfig config) {
        return config == null ? RetrySettings.DEFAULTS : config.retry();
    }

    /** Reads the config into the cache, one read per target at a time; never fails. */
    private CompletableFuture<LimitConfig> refreshConfig(Target target) {
        CompletableFuture<LimitConfig> mine = new CompletableFuture<>();
        CompletableFuture<LimitConfig> running = configReads.putIfAbsent(target, mine);
        if (running != null) {
            return running;
        }
        CompletableFuture<Optional<LimitConfig>> read;
        try {
            read = admin.configAsync(target);
        } catch (RuntimeException e) {
            read = CompletableFuture.failedFuture(e);
        }
        read.whenComplete((c, e) -> {
            if (e == null) {
                configs.put(target, new CachedConfig(c.orElse(null), System.nanoTime()));
                noteConfig(target, c.orElse(null));
            } else {
                log.debug("{} config read failed: {}", target, e.toString());
            }
            configReads.remove(target, mine);
            // Redis away: the last config read, else the one this client was given, else the defaults.
            LimitConfig known = lastKnownConfig(target);
            mine.complete(e == null ? c.orElse(null) : known != null ? known : options.configs().get(target));
        });
        return mine;
    }

    /**
     * Keeps the config a degraded-mode fallback would use, and whether the target runs on the
     * default config, current: read at most once a second per target, off the caller's path.
     */
    void admitted(Target target) {
        CachedConfig cached = configs.get(target);
        if (cached == null || !cached.fresh()) {
            refreshConfig(target);
        }
    }

    /** Says once, at WARN and in a gauge, that a target runs on a config nobody gave it. */
    private void noteConfig(Target target, LimitConfig config) {
        if (config == null) {
            return;
        }
        boolean onDefault = config.autoCreated();
        if (metrics.defaultConfig(target, onDefault)) {
            if (onDefault) {
                log.warn("{} runs on the default config ({}) because Redis had none for it; give it its real limits "
                        + "(admin API, or LlmLimiter.builder().config(...) so clients re-create it)", target, config);
            } else {
                log.info("{} runs on its own config again: {}", target, config);
            }
        }
    }

    private LimitConfig lastKnownConfig(Target target) {
        CachedConfig cached = configs.get(target);
        return cached == null ? null : cached.config();
    }

    private java.util.concurrent.Executor degradedExecutor() {
        return DEGRADED_POOL;
    }

    private static final java.util.concurrent.ExecutorService DEGRADED_POOL =
            java.util.concurrent.Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "llmlim-degraded");
                t.setDaemon(true);
                return t;
            });

    LimiterMetrics metrics() {
        return metrics;
    }

    /** @return this client's recent admission waits, published for the admin server's history */
    WaitTimes waitTimes() {
        return waitTimes;
    }

    /** @return the provider-stated limits told to the fleet, for rate-limiting those reports */
    ProviderLimits providerLimits() {
        return providerLimits;
    }

    /** @return how this client prices calls */
    public Pricing pricing() {
        return pricing;
    }

    /** @return what keeps the price table in step with Redis */
    public PriceSync priceSync() {
        return priceSync;
    }

    /** @return whether the target's config was read from Redis at least once */
    boolean configKnown(Target target) {
        return configs.containsKey(target);
    }

    /** @return completes (never exceptionally) once the target's config was read, or could not be */
    CompletableFuture<LimitConfig> configNow(Target target) {
        return refreshConfig(target);
    }

    /** @return the target's config as last read, else the one this client was given, else null */
    LimitConfig configFor(Target target) {
        LimitConfig c = knownConfig(target);
        return c != null ? c : options.configs().get(target);
    }

    /** @return the target's config as last read (no Redis read), or null when none was read */
    LimitConfig knownConfig(Target target) {
        CachedConfig cached = configs.get(target);
        return cached == null ? null : cached.config();
    }

    ErrorClassifier errorClassifier() {
        return options.errorClassifier();
    }

    StatusExtractor statusExtractor() {
        return options.statusExtractor();
    }

    @Override
    public LimiterAdmin admin() {
        return admin;
    }

    /**
     * Fails every pending future with "limiter closed" (waiters leave the line, admissions still
     * on their way are released; a provider call already running keeps its future), stops renewals,
     * then closes the connections and the limiter's own callback pool. Held permits expire at their
     * lease TTL. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (callbacks.closed()) {
            return;
        }
        // Lets the waiters' cancels reach Redis, so the line does not wait for their tickets to lapse.
        callbacks.close(commandTimeout);
        stats.close(commandTimeout);
        timer.shutdownNow();
        connections.close();
        callbacks.shutdown();
    }

    /** @return whether {@link #close()} ran */
    boolean closed() {
        return callbacks.closed();
    }

    LimiterUnavailableException closedException(Target target) {
        return new LimiterUnavailableException(target, (target == null ? "" : target + ": ") + "limiter closed", null);
    }

    private void ensureOpen(Target target) {
        if (callbacks.closed()) {
            throw closedException(target);
        }
    }

    /** @return where callers' futures complete and user code runs, and what close settles */
    Callbacks callbacks() {
        return callbacks;
    }

    /** Schedules internal work; after close nothing runs and null is returned. */
    /** Thrown by the timer once closed; stackless, so refusing never takes a lock. */
    private static final RejectedExecutionException REFUSED = new RejectedExecutionException("limiter closed", null) {
        private static final long serialVersionUID = 1L;

        @Override
        public Throwable fillInStackTrace() {
            return this;
        }
    };

    ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
        if (timer.isShutdown()) {
            return null;
        }
        try {
            return timer.schedule(task, delay, unit);
        } catch (RejectedExecutionException e) {
            return null;
        }
    }

    Duration commandTimeout() {
        return commandTimeout;
    }

    /**
     * Runs a Redis operation in the background until it answers, a few times with growing pauses;
     * if it never does, logs at WARN and meters it. Nothing waits for it.
     */
    void retrying(Target target, String what, java.util.function.Supplier<CompletableFuture<?>> op) {
        retrying(target, what, op, 1);
    }

    private void retrying(Target target, String what, java.util.function.Supplier<CompletableFuture<?>> op,
                          int attempt) {
        if (callbacks.closed()) {
            return;
        }
        op.get().whenComplete((ok, e) -> {
            if (e == null) {
                return;
            }
            if (attempt >= BACKGROUND_TRIES || schedule(() -> retrying(target, what, op, attempt + 1),
                    200L * attempt, TimeUnit.MILLISECONDS) == null) {
                log.warn("{} {} failed {} times, last: {}", target, what, attempt, Redacted.message(
                        ScriptRunner.unwrap(e)));
                metrics.backgroundFailed(target, "release");
            }
        });
    }

    /**
     * Writes a config for a target that has none (first use of an unknown target, or a Redis that
     * restarted empty): the one this client was built with, else the default, marked as such. Never
     * over a config written meanwhile ({@code nx}).
     */
    CompletableFuture<Void> ensureConfig(Target target) {
        LimitConfig given = options.configs().get(target);
        if (given != null) {
            return admin.writeConfig(given, "nx").thenApply(written -> {
                if (written) {
                    log.info("{} had no config in Redis; wrote the one this client was built with: {}", target, given);
                    configs.put(target, new CachedConfig(given, System.nanoTime()));
                    noteConfig(target, given);
                }
                return null;
            });
        }
        return admin.defaultConfigAsync().thenCompose(def -> {
            LimitConfig config = def.map(d -> RedisAdmin.retarget(d, target))
                    .orElseGet(() -> LimitConfig.conservativeDefault(target)).toBuilder().autoCreated(true).build();
            return admin.writeConfig(config, "nx").thenApply(written -> {
                if (written) {
                    configs.put(target, new CachedConfig(config, System.nanoTime()));
                    noteConfig(target, config);
                }
                return null;
            });
        });
    }

    /** @return whether a blocking acquire waits for an unreachable Redis (not in degraded mode) */
    boolean waitsForRedis() {
        return degraded == null;
    }

    /** @return who logs, once per outage, that Redis went away and came back */
    RedisOutage outage() {
        return outage;
    }

    <T> T await(Target target, String what, CompletableFuture<T> f) {
        try {
            return f.get(3 * commandTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LimiterUnavailableException(target, what + " interrupted", e);
        } catch (TimeoutException e) {
            throw new LimiterUnavailableException(target, what + ": no answer from Redis", e);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    RuntimeException unavailable(Target target, String what, Throwable e) {
        Throwable cause = ScriptRunner.unwrap(e);
        if (cause instanceof LimiterException le) {
            return le;
        }
        return new LimiterUnavailableException(target, (target == null ? "" : target + ": ") + what + " failed: "
                + Redacted.message(cause), cause);
    }

    private RuntimeException rethrow(Throwable cause) {
        Throwable c = ScriptRunner.unwrap(cause);
        if (c instanceof RuntimeException re && !(c instanceof io.lettuce.core.RedisException)) {
            return re;
        }
        return unavailable(null, "redis", c);
    }

    ScriptRunner scripts() {
        return scripts;
    }

    /**
     * @return this process's line of waiters for the target, tenant and class; each line names
     *     itself apart in its request ids (one line sends one call at a time, see {@link RequestIds})
     */
    LocalLine line(Target target, Tenant tenant) {
        return lines.computeIfAbsent(new LineKey(target, tenant), k -> new LocalLine(
                tenant.equals(Tenant.DEFAULT) ? processId : processId + "_" + lineSeq.incrementAndGet()));
    }

    private record LineKey(Target target, Tenant tenant) {
    }

    /** @return the completions sent to Redis, batched per target */
    CompletionBatcher completions() {
        return completions;
    }

    /** @return the stats counters aggregated here and flushed once a second per target */
    StatsBatcher stats() {
        return stats;
    }

    String processId() {
        return processId;
    }

    WakeHub hub() {
        return hub;
    }

    ScheduledExecutorService timer() {
        return timer;
    }

    Duration ticketTtl() {
        return ticketTtl;
    }
}
