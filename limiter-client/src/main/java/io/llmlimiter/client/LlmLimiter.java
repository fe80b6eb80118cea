package io.llmlimiter.client;

import io.llmlimiter.client.internal.RedisLimiter;
import io.llmlimiter.client.retry.ErrorClassifier;
import io.llmlimiter.client.retry.StatusExtractor;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The limiter every worker embeds. All workers of all JVMs that point at the same Redis share
 * one exact budget per target.
 *
 * <pre>{@code
 * try (LlmLimiter limiter = LlmLimiter.builder().redis("redis://localhost:6379").build();
 *      Permit permit = limiter.acquire(Target.parse("openai/gpt-4o"), Estimate.of(1200, 500), Duration.ofSeconds(30))) {
 *     Response r = callTheModel();
 *     permit.complete(Usage.of(r.promptTokens(), r.completionTokens()));
 * }
 * }</pre>
 *
 * <p>Implementations are thread-safe; share one per process.
 */
public interface LlmLimiter extends AutoCloseable {

    /** @return a builder */
    static Builder builder() {
        return new Builder();
    }

    /**
     * Waits until the target's budget admits the request, in arrival order across all JVMs.
     *
     * @param target the target
     * @param estimate what the call is expected to use
     * @param maxWait the longest time to wait
     * @return the permit
     * @throws RateLimitedException when not admitted within {@code maxWait}
     * @throws EstimateTooLargeException when the estimate can never fit a limit
     * @throws LimiterUnavailableException when Redis stays unreachable until {@code maxWait} has
     *     passed (a shorter outage is waited out: nothing is admitted without Redis)
     */
    default Permit acquire(Target target, Estimate estimate, Duration maxWait) {
        return acquire(target, Tenant.DEFAULT, estimate, maxWait);
    }

    /**
     * {@link #acquire(Target, Estimate, Duration)} for a tenant and priority class. On a target
     * whose config shares fairly ({@link LimitConfig#fairShare()}), waiting calls are admitted by
     * class, then by the tenants' weighted service, fleet-wide; elsewhere in arrival order.
     *
     * @param target the target
     * @param tenant who the call is for, and its priority class
     * @param estimate what the call is expected to use
     * @param maxWait the longest time to wait
     * @return the permit
     * @throws RateLimitedException when not admitted within {@code maxWait} (reason {@code tenant}
     *     when the tenant's cap holds it back past then)
     * @throws EstimateTooLargeException when the estimate can never fit a limit or the tenant's cap
     * @throws LimiterUnavailableException as {@link #acquire(Target, Estimate, Duration)}
     */
    Permit acquire(Target target, Tenant tenant, Estimate estimate, Duration maxWait);

    /**
     * Admits the request only if the budget allows it right now; never waits.
     *
     * @param target the target
     * @param estimate what the call is expected to use
     * @return the permit, or empty when refused
     * @throws LimiterUnavailableException when Redis cannot be reached right now
     */
    default Optional<Permit> tryAcquire(Target target, Estimate estimate) {
        return tryAcquire(target, Tenant.DEFAULT, estimate);
    }

    /**
     * {@link #tryAcquire(Target, Estimate)} for a tenant and priority class.
     *
     * @param target the target
     * @param tenant who the call is for, and its priority class
     * @param estimate what the call is expected to use
     * @return the permit, or empty when refused
     * @throws LimiterUnavailableException when Redis cannot be reached right now
     */
    Optional<Permit> tryAcquire(Target target, Tenant tenant, Estimate estimate);

    /**
     * Asynchronous {@link #acquire}: no thread is blocked while waiting, the calling thread included.
     * The future completes on the limiter's {@linkplain Builder#executor executor}. Cancelling it, or
     * letting it time out ({@code orTimeout}), leaves the line at once and releases a permit admitted
     * after that.
     *
     * @param target the target
     * @param estimate what the call is expected to use
     * @param maxWait the longest time to wait
     * @return completes with the permit, or exceptionally as {@link #acquire} throws
     */
    default CompletableFuture<Permit> acquireAsync(Target target, Estimate estimate, Duration maxWait) {
        return acquireAsync(target, Tenant.DEFAULT, estimate, maxWait);
    }

    /**
     * {@link #acquireAsync(Target, Estimate, Duration)} for a tenant and priority class.
     *
     * @param target the target
     * @param tenant who the call is for, and its priority class
     * @param estimate what the call is expected to use
     * @param maxWait the longest time to wait
     * @return completes with the permit, or exceptionally as {@link #acquire} throws
     */
    CompletableFuture<Permit> acquireAsync(Target target, Tenant tenant, Estimate estimate, Duration maxWait);

    /**
     * Runs a call under the target's budget: acquires a permit, runs the call, completes the
     * permit with the usage the call reported, releases it before any backoff, and retries per
     * the target's live retry settings. Rate-limit errors wait twice as long as other retryable
     * errors; a provider 429 pauses every client of the target; {@code Retry-After} and the
     * providers' rate-limit headers are honoured. A successful result is returned even when its
     * completion cannot reach Redis: the completion is retried in the background, then logged and
     * metered if it never arrives. An interrupt releases the permit, ends the execution with
     * {@link CallFailedException} (or {@link RateLimitedException} while waiting) and keeps the
     * thread's interrupt flag.
     *
     * <pre>{@code
     * String answer = limiter.execute(target, Estimate.of(1200, 500), ctx -> callTheModel());
     * }</pre>
     *
     * @param target the target
     * @param estimate what one attempt is expected to use
     * @param call the call
     * @param <T> the call's result
     * @return the result of the first successful attempt
     * @throws CallFailedException when the error is not retried or the retries run out
     * @throws RateLimitedException when no permit is had before the deadline
     * @throws BudgetExceededException at once, never retried, when an attempt (or a call made inside
     *     it) would pass a dollar budget
     */
    default <T> T execute(Target target, Estimate estimate, LlmCall<T> call) {
        return execute(target, Tenant.DEFAULT, estimate, call);
    }

    /**
     * {@link #execute(Target, Estimate, LlmCall)} for a tenant and priority class: every attempt
     * is acquired for them.
     *
     * @param target the target
     * @param tenant who the call is for, and its priority class
     * @param estimate what one attempt is expected to use
     * @param call the call
     * @param <T> the call's result
     * @return the result of the first successful attempt
     * @throws CallFailedException when the error is not retried or the retries run out
     * @throws RateLimitedException when no permit is had before the deadline
     * @throws BudgetExceededException at once, never retried, when an attempt (or a call made inside
     *     it) would pass a dollar budget
     */
    <T> T execute(Target target, Tenant tenant, Estimate estimate, LlmCall<T> call);

    /**
     * Asynchronous {@link #execute}: no thread is blocked while waiting or backing off. The call, the
     * error classification and the completion of the returned future run on the limiter's
     * {@linkplain Builder#executor executor}, never on a Redis I/O thread. Cancelling the future
     * stops the wait for a permit; a call already running finishes and is accounted. Anything the
     * call throws, {@link Error}s included, releases its permit at once.
     *
     * @param target the target
     * @param estimate what one attempt is expected to use
     * @param call the call
     * @param <T> the call's result
     * @return completes with the result, or exceptionally as {@link #execute} throws
     */
    default <T> CompletableFuture<T> executeAsync(Target target, Estimate estimate, AsyncLlmCall<T> call) {
        return executeAsync(target, Tenant.DEFAULT, estimate, call);
    }

    /**
     * {@link #executeAsync(Target, Estimate, AsyncLlmCall)} for a tenant and priority class.
     *
     * @param target the target
     * @param tenant who the call is for, and its priority class
     * @param estimate what one attempt is expected to use
     * @param call the call
     * @param <T> the call's result
     * @return completes with the result, or exceptionally as {@link #execute} throws
     */
    <T> CompletableFuture<T> executeAsync(Target target, Tenant tenant, Estimate estimate, AsyncLlmCall<T> call);

    /**
     * Tells every client of the target that the provider refused a call (HTTP 429): all of them
     * pause for {@code pause} before their next acquire.
     *
     * @param target the target
     * @param pause how long (Retry-After, or the provider's reset time)
     */
    void reportRateLimited(Target target, Duration pause);

    /**
     * Tells every client of the target how much budget the provider says remains (from its
     * rate-limit headers); until {@code resetIn} passes, no request is admitted beyond it.
     *
     * @param target the target
     * @param resource what the provider counted
     * @param remaining what the provider says remains
     * @param resetIn when the provider's budget resets
     */
    void reportBudget(Target target, Resource resource, long remaining, Duration resetIn);

    /** @return configuration and inspection of targets */
    LimiterAdmin admin();

    /**
     * Fails every pending future (waiting acquires, and executions not calling the provider right
     * now) with a {@link LimiterUnavailableException} saying the limiter is closed, leaving the line,
     * then stops renewals and closes the Redis connections. An async call already running delivers
     * its result. Held permits expire at their lease TTL. Later calls fail at once the same way.
     */
    @Override
    void close();

    /** Builds an {@link LlmLimiter}. Not thread-safe. */
    final class Builder {
        private String redisUri = "redis://127.0.0.1:6379";
        private Duration commandTimeout = Duration.ofSeconds(2);
        private Duration ticketTtl = Duration.ofSeconds(3);
        private MeterRegistry meterRegistry;
        private ErrorClassifier errorClassifier = ErrorClassifier.defaults();
        private StatusExtractor statusExtractor = StatusExtractor.defaults();
        private java.nio.file.Path trustedCertificate;
        private double degradedShare;
        private java.util.concurrent.Executor executor;
        private final java.util.Map<Target, LimitConfig> configs = new java.util.LinkedHashMap<>();
        private PriceTable prices;

        private Builder() {
        }

        /**
         * @param uri a Redis URI: {@code redis://[user:pass@]host:6379}, {@code rediss://} for TLS,
         *     {@code redis-sentinel://host:26379,host2:26379#mymaster} for a Sentinel-managed master,
         *     or {@code redis-cluster://host:7000,host:7001} ({@code rediss-cluster://}) for Redis Cluster
         * @return this builder
         */
        public Builder redis(String uri) {
            this.redisUri = Objects.requireNonNull(uri, "redis uri must not be null");
            return this;
        }

        /**
         * @param timeout how long one Redis command may take before it fails (default 2 s)
         * @return this builder
         */
        public Builder commandTimeout(Duration timeout) {
            if (timeout == null || timeout.toMillis() < 1 || timeout.compareTo(Duration.ofMinutes(1)) > 0) {
                throw new IllegalArgumentException("commandTimeout must be between 1ms and 1m, got " + timeout);
            }
            this.commandTimeout = timeout;
            return this;
        }

        /**
         * @param ttl how long a waiting caller's place in line survives without it checking in
         *     (default 3 s); a crashed waiter blocks the line at most this long
         * @return this builder
         */
        public Builder ticketTtl(Duration ttl) {
            if (ttl == null || ttl.toMillis() < 100 || ttl.compareTo(Duration.ofMinutes(5)) > 0) {
                throw new IllegalArgumentException("ticketTtl must be between 100ms and 5m, got " + ttl);
            }
            this.ticketTtl = ttl;
            return this;
        }

        /**
         * @param registry where the client's meters go (prefix {@code llmlimiter.client.}, tag
         *     {@code target}); none by default
         * @return this builder
         */
        public Builder meterRegistry(MeterRegistry registry) {
            this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry must not be null");
            return this;
        }

        /**
         * @param classifier decides which failures {@code execute} retries (default
         *     {@link ErrorClassifier#defaults()})
         * @return this builder
         */
        public Builder errorClassifier(ErrorClassifier classifier) {
            this.errorClassifier = Objects.requireNonNull(classifier, "errorClassifier must not be null");
            return this;
        }

        /**
         * @param extractor finds the HTTP status, headers and body in a call's exception (default
         *     {@link StatusExtractor#defaults()}: java.net.http, OkHttp/Retrofit, OpenAI and Anthropic SDKs)
         * @return this builder
         */
        public Builder statusExtractor(StatusExtractor extractor) {
            this.statusExtractor = Objects.requireNonNull(extractor, "statusExtractor must not be null");
            return this;
        }

        /**
         * @param caCertificatePem a PEM file with the certificate (or CA) to trust for
         *     {@code rediss://} connections, e.g. a self-signed one; without it the JVM's trust store
         * @return this builder
         */
        public Builder trustedCertificate(java.nio.file.Path caCertificatePem) {
            Objects.requireNonNull(caCertificatePem, "trustedCertificate must not be null");
            if (!java.nio.file.Files.isReadable(caCertificatePem)) {
                throw new IllegalArgumentException("trustedCertificate must be a readable PEM file, got " + caCertificatePem);
            }
            this.trustedCertificate = caCertificatePem;
            return this;
        }

        /**
         * Opts in to degraded mode. By default the limiter fails closed: nothing is admitted while
         * Redis cannot be reached; a blocking acquire waits for it within its deadline and fails
         * with {@link LimiterUnavailableException} only when Redis stays away past it. In
         * degraded mode each client instead falls back to an in-process limiter at {@code share} of
         * each limit (e.g. {@code 1.0 / expectedWorkers}), logs and meters that it did, and returns
         * to Redis by itself when Redis answers again.
         *
         * @param share the share of each limit one client may use alone, above 0 and at most 1
         * @return this builder
         */
        public Builder degradedMode(double share) {
            if (!(share > 0 && share <= 1)) {
                throw new IllegalArgumentException("degradedMode share must be above 0 and at most 1, got " + share);
            }
            this.degradedShare = share;
            return this;
        }

        /**
         * Where async results, continuations and user callbacks run: the futures of
         * {@link LlmLimiter#acquireAsync} and {@link LlmLimiter#executeAsync} complete on it, and the
         * {@link AsyncLlmCall}, the error classifier and the status extractor are called on it, never
         * on the Redis client's I/O threads. By default a pool of daemon threads that the limiter owns
         * and shuts down on {@link LlmLimiter#close()}; an executor given here is not shut down.
         *
         * @param executor the executor
         * @return this builder
         */
        public Builder executor(java.util.concurrent.Executor executor) {
            this.executor = Objects.requireNonNull(executor, "executor must not be null");
            return this;
        }

        /**
         * Gives the client a target's config. The client writes it to Redis only when Redis has no
         * config for the target (first use, or a Redis that restarted empty), never over one that
         * is there; without it such a target gets the default config (10 requests per minute, one
         * at a time, unless a fleet default is set), which the client reports at WARN.
         *
         * @param config the target's config
         * @return this builder
         * @throws IllegalArgumentException when a config for the same target was given already
         */
        public Builder config(LimitConfig config) {
            Objects.requireNonNull(config, "config must not be null");
            if (configs.putIfAbsent(config.target(), config) != null) {
                throw new IllegalArgumentException("config for " + config.target() + " was given twice");
            }
            return this;
        }

        /**
         * {@link #config(LimitConfig)} for each of several targets.
         *
         * @param all the targets' configs
         * @return this builder
         * @throws IllegalArgumentException when two configs are for the same target
         */
        public Builder configs(java.util.Collection<LimitConfig> all) {
            Objects.requireNonNull(all, "configs must not be null").forEach(this::config);
            return this;
        }

        /**
         * Sets the price table the client prices calls with (estimates at admission, usage at
         * completion) where a target's config gives no prices of its own. Default: the table
         * bundled with the client ({@link PriceTable#bundled()}); a table the admin server holds
         * in Redis ({@code PUT /api/v1/prices}, {@code serve --prices}) replaces it once read.
         *
         * @param table the price table
         * @return this builder
         */
        public Builder prices(PriceTable table) {
            this.prices = Objects.requireNonNull(table, "prices must not be null");
            return this;
        }

        /**
         * Builds the limiter. A Redis that cannot be reached right now is connected to in the
         * background: the first calls wait for it within their deadlines.
         *
         * @return the limiter, connected or connecting
         * @throws IllegalArgumentException when the Redis URI is not valid
         * @throws LimiterUnavailableException when Redis refuses the connection (password, TLS)
         */
        public LlmLimiter build() {
            RedisLimiter limiter = RedisLimiter.connect(new RedisLimiter.Options(redisUri, commandTimeout, ticketTtl,
                    meterRegistry, errorClassifier, statusExtractor, trustedCertificate, degradedShare, executor, configs));
            if (prices != null) {
                limiter.pricing().table(prices);
            }
            return limiter;
        }
    }
}
