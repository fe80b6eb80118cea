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

/** A lease in Redis, renewed every third of its TTL until completed. This class is thread-safe. */
final class RedisPermit implements Permit {

    private static final Logger log = LoggerFactory.getLogger(RedisPermit.class);
    private static final int MAX_SENDS = 5;

    private final RedisLimiter limiter;
    private final Target target;
    private final Keys keys;
    private final String leaseId;
    private final Estimate estimate;
    private final long admittedMicros;
    private final AtomicBoolean done = new AtomicBoolean();
    private volatile ScheduledFuture<?> renewal;

    RedisPermit(RedisLimiter limiter, Target target, Keys keys, String leaseId, Estimate estimate,
                long admittedMicros, long ttlMicros) {
        this.limiter = limiter;
        this.target = target;
        this.keys = keys;
        this.leaseId = leaseId;
        this.estimate = estimate;
        this.admittedMicros = admittedMicros;
        long every = Math.max(1000, ttlMicros / 3);
        this.renewal = limiter.timer().scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MICROSECONDS);
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
        limiter.await(target, "complete", completeAsync(usage));
    }

    @Override
    public CompletableFuture<Void> completeAsync(Usage usage) {
        if (!done.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        renewal.cancel(false);
        limiter.metrics().released(target);
        if (usage != null) {
            limiter.metrics().tokens(target, estimate.tokens(), usage.totalTokens());
        }
        CompletableFuture<Void> result = new CompletableFuture<>();
        send(usage, 1, result);
        return result;
    }

    /** Sends the completion; a lost reply or a dropped connection is retried a few times. */
    private void send(Usage usage, int attempt, CompletableFuture<Void> result) {
        Usage u = usage == null ? Usage.of(0, 0) : usage;
        limiter.scripts().<List<Object>>run(LuaScript.COMPLETE, ScriptOutputType.MULTI, keys, leaseId,
                        usage == null ? "0" : "1", Long.toString(u.inputTokens()), Long.toString(u.outputTokens()),
                        Long.toString(u.cacheReadTokens()), "", keys.channel(), attempt > 1 ? "1" : "0",
                        Long.toString(admittedMicros), Long.toString(estimate.tokens()),
                        Long.toString(estimate.inputTokens()), Long.toString(estimate.outputTokens()))
                .whenComplete((reply, e) -> {
                    if (e == null) {
                        if ((Long) reply.get(0) == 0 && attempt == 1) {
                            log.warn("{} lease {} had already expired when its call completed; raise lease_ttl if "
                                    + "calls outlive it", target, leaseId);
                        }
                        result.complete(null);
                    } else if (attempt < MAX_SENDS) {
                        limiter.timer().schedule(() -> send(usage, attempt + 1, result), 200L * attempt,
                                TimeUnit.MILLISECONDS);
                    } else {
                        log.warn("{} could not release lease {}; it expires at its TTL", target, leaseId);
                        result.completeExceptionally(limiter.unavailable(target, "complete", e));
                    }
                });
    }

    @Override
    public void close() {
        if (!done.get()) {
            try {
                limiter.await(target, "release", completeAsync(null));
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
                        log.warn("{} lease {} expired before renewal; the call is no longer counted as in flight",
                                target, leaseId);
                        done.set(true);
                    }
                });
    }

    @Override
    public String toString() {
        return "Permit[" + target + " " + leaseId + "]";
    }
}
