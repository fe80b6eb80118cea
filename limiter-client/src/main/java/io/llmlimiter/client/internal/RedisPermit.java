package io.llmlimiter.client.internal;

import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import io.llmlimiter.scripts.LuaScript;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An admission in Redis. On a target with a concurrency cap it holds a lease, renewed every third
 * of its TTL until completed, and completing (or closing) always sends the completion, also after
 * the lease expired, so the usage is recorded and the in-flight gauge goes down exactly once. On a
 * target without a cap it holds no lease (nothing renews), and under {@code keep} accounting a
 * completion within the estimate changes nothing in the log: only its stats counters are added up
 * and flushed later ({@link StatsBatcher}), no script is sent. On a target that shares fairly, a
 * completion whose usage differs from its estimate corrects its tenant's counter the same way,
 * with the stats. This class is thread-safe.
 */
final class RedisPermit implements Permit {

    private static final Logger log = LoggerFactory.getLogger(RedisPermit.class);
    private static final int MAX_SENDS = RedisLimiter.BACKGROUND_TRIES;

    private final RedisLimiter limiter;
    private final Target target;
    private final Keys keys;
    private final String leaseId;
    private final Estimate estimate;
    private final long admittedMicros;
    /** Admitted without a lease (the target has no concurrency cap). */
    private final boolean leaseFree;
    private final AtomicBoolean done = new AtomicBoolean();
    private final ScheduledFuture<?> renewal;
    /** The estimate's cost reserved against the target's dollar budgets, in micro-dollars. */
    private final long costMicros;
    /** Whom the call is for: its cost counts for this tenant too, and on a target that shares fairly its tokens served. */
    private final String tenant;

    RedisPermit(RedisLimiter limiter, Target target, Keys keys, String leaseId, Estimate estimate,
                long admittedMicros, long ttlMicros, long costMicros, String tenant) {
        this.costMicros = costMicros;
        this.tenant = tenant;
        this.limiter = limiter;
        this.target = target;
        this.keys = keys;
        this.leaseId = leaseId;
        this.estimate = estimate;
        this.admittedMicros = admittedMicros;
        this.leaseFree = ttlMicros <= 0;
        if (leaseFree) {
            this.renewal = null;
            return;
        }
        long every = Math.max(1000, ttlMicros / 3);
        ScheduledFuture<?> r;
        try {
            r = limiter.timer().scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MICROSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The limiter is closed: nothing renews, the lease expires at its TTL.
            r = null;
        }
        this.renewal = r;
    }

    @Override
    public Target target() {
        return target;
    }

    @Override
    public String leaseId() {
        return leaseId;
    }

    @Override
    public Instant admittedAt() {
        return Instant.ofEpochSecond(admittedMicros / 1_000_000, (admittedMicros % 1_000_000) * 1000);
    }

    /** @return the admission time in Redis microseconds, exactly as the log holds it */
    long admittedMicros() {
        return admittedMicros;
    }

    @Override
    public Estimate estimate() {
        return estimate;
    }

    @Override
    public void complete(Usage usage) {
        limiter.await(target, "complete", completion(usage));
    }

    /** The returned future completes on the limiter's callback executor. */
    @Override
    public CompletableFuture<Void> completeAsync(Usage usage) {
        return limiter.callbacks().hop(completion(usage));
    }

    /** {@link #completeAsync} for the limiter itself: the future completes on a Redis thread. */
    CompletableFuture<Void> completion(Usage usage) {
        if (!done.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        stopRenewing();
        limiter.metrics().released(target);
        if (usage != null) {
            limiter.metrics().tokens(target, estimate.tokens(), usage.totalTokens());
        }
        io.llmlimiter.client.LimitConfig config = limiter.configFor(target);
        if (usage != null && config != null && config.fairShare() != null
                && usage.totalTokens() != estimate.tokens()) {
            // Fair share counts the tokens served: the tenant's counter is corrected with the stats.
            limiter.stats().served(target, tenant, usage.totalTokens() - estimate.tokens());
        }
        long actual = usage == null ? -1 : limiter.pricing().actual(target, config, usage);
        if (needsNoScript(usage, actual)) {
            limiter.stats().completed(target, estimate.tokens(), usage, Math.max(0, actual), tenant);
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> result = new CompletableFuture<>();
        send(usage, actual, result);
        return result;
    }

    /**
     * @return whether the completion changes nothing in Redis but the stats counters: no lease, the
     *     target's config (as last read) keeps the admission charge, the usage is within it, and
     *     no dollar budget needs its reservation corrected
     */
    private boolean needsNoScript(Usage usage, long actualMicros) {
        if (!leaseFree) {
            return false;
        }
        io.llmlimiter.client.LimitConfig config = limiter.knownConfig(target);
        if (config == null || config.accounting() != io.llmlimiter.client.Accounting.KEEP) {
            return false;
        }
        if (!config.budgets().isEmpty() && actualMicros >= 0 && actualMicros != costMicros) {
            // The dollar budgets' reservation is corrected to the actual cost.
            return false;
        }
        return usage == null || (usage.inputTokens() <= estimate.inputTokens()
                && usage.outputTokens() <= estimate.outputTokens() && usage.totalTokens() <= estimate.tokens());
    }

    /** @return whether the admission holds no lease */
    boolean leaseFree() {
        return leaseFree;
    }

    /** Sends the completion with the target's others; a lost reply or a dropped connection is retried. */
    private void send(Usage usage, long actualMicros, CompletableFuture<Void> result) {
        limiter.completions().complete(target, leaseId, usage, admittedMicros, estimate, costMicros, actualMicros)
                .whenComplete((reply, e) -> {
            if (e == null) {
                if (reply[0] == 0 && reply[4] == 0 && !leaseFree) {
                    log.warn("{} lease {} had already expired when its call completed; raise lease_ttl if "
                            + "calls outlive it", target, leaseId);
                }
                limiter.stats().tenantSpent(target, tenant, actualMicros);
                result.complete(null);
            } else {
                log.warn("{} could not complete lease {} after {} attempts; it expires at its TTL{}", target,
                        leaseId, MAX_SENDS, usage == null ? "" : " and its usage is not recorded");
                limiter.metrics().backgroundFailed(target, "complete");
                result.completeExceptionally(limiter.unavailable(target, "complete", e));
            }
        });
    }

    @Override
    public void close() {
        if (!done.get()) {
            CompletableFuture<Void> release = completion(null);
            if (Thread.currentThread().isInterrupted()) {
                // The release is on its way; an interrupted thread does not wait for its answer.
                return;
            }
            try {
                limiter.await(target, "release", release);
            } catch (RuntimeException e) {
                // The lease expires at its TTL anyway; closing must not mask the caller's own exception.
                log.warn("{} could not release lease {}: {}", target, leaseId, e.getMessage());
            }
        }
    }

    private void renew() {
        if (done.get()) {
            return;
        }
        limiter.scripts().<Long>run(LuaScript.RENEW, ScriptOutputType.INTEGER, keys, leaseId, "")
                .whenComplete((expiry, e) -> {
                    if (e != null) {
                        log.warn("{} could not renew lease {}: {}", target, leaseId, e.getMessage());
                    } else if (expiry == 0 && !done.get()) {
                        // Completing still records the usage and takes the call off the in-flight gauge.
                        log.warn("{} lease {} expired before renewal; the call is no longer counted as in flight",
                                target, leaseId);
                        stopRenewing();
                    }
                });
    }

    private void stopRenewing() {
        ScheduledFuture<?> r = renewal;
        if (r != null) {
            r.cancel(false);
        }
    }

    @Override
    public String toString() {
        return "Permit[" + target + " " + leaseId + "]";
    }
}
