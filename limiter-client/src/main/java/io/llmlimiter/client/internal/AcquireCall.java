package io.llmlimiter.client.internal;

import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.EstimateTooLargeException;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.RateLimitedException;
import io.llmlimiter.client.Target;
import io.llmlimiter.scripts.LuaScript;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One acquire: calls the acquire script, and when refused sleeps until the time Redis named or
 * until pub/sub says it is this request's turn, then tries again with the same request id (so it
 * keeps its place in line). Never polls. A blocking acquire whose Redis is unreachable tries again
 * with backoff, same request id, until Redis answers or its deadline passes: nothing is admitted
 * without Redis, and a short outage is not a failure. Not thread-safe: each step runs after the
 * previous one.
 */
final class AcquireCall {

    private static final Logger log = LoggerFactory.getLogger(AcquireCall.class);
    private static final long FIRST_BACKOFF_NANOS = 20_000_000L;
    private static final long MAX_BACKOFF_NANOS = 250_000_000L;
    /** Config writes one acquire may make: Redis may restart empty during a long wait, more is a bug. */
    private static final int MAX_CONFIG_WRITES = 3;

    private final RedisLimiter limiter;
    private final Target target;
    private final Keys keys;
    private final Estimate estimate;
    private final boolean blocking;
    private final long deadlineNanos;
    private final long startNanos = System.nanoTime();
    private final String requestId = RequestIds.next();
    private final CompletableFuture<Permit> result = new CompletableFuture<>();

    // Mutable state
    private int configWrites;
    private boolean loggedWait;
    private long backoffNanos = FIRST_BACKOFF_NANOS;

    AcquireCall(RedisLimiter limiter, Target target, Estimate estimate, Duration maxWait) {
        this.limiter = limiter;
        this.target = target;
        this.keys = Keys.of(target);
        this.estimate = estimate;
        this.blocking = !maxWait.isZero() && !maxWait.isNegative();
        this.deadlineNanos = System.nanoTime() + Math.max(0, maxWait.toNanos());
    }

    CompletableFuture<Permit> start() {
        attempt();
        return result;
    }

    String requestId() {
        return requestId;
    }

    /** Leaves the line; the next waiter is woken at once. */
    void abandon() {
        limiter.hub().unregister(keys.channel(), requestId);
        if (blocking) {
            limiter.scripts().run(LuaScript.CANCEL, ScriptOutputType.INTEGER, keys, requestId, keys.channel());
        }
    }

    private void attempt() {
        if (result.isDone()) {
            return;
        }
        CompletableFuture<Void> wake = blocking ? limiter.hub().register(keys.channel(), requestId) : null;
        limiter.scripts().<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, keys, requestId,
                        Long.toString(estimate.tokens()), Long.toString(estimate.inputTokens()),
                        Long.toString(estimate.outputTokens()), "", blocking ? "1" : "0",
                        Long.toString(limiter.ticketTtl().toMillis()), keys.channel())
                .whenComplete((reply, error) -> {
                    if (error != null) {
                        limiter.hub().unregister(keys.channel(), requestId);
                        if (!retryWhenRedisIsBack(error)) {
                            result.completeExceptionally(limiter.unavailable(target, "acquire", error));
                        }
                    } else {
                        backoffNanos = FIRST_BACKOFF_NANOS;
                        limiter.outage().answered();
                        handle(reply, wake);
                    }
                });
    }

    /**
     * A blocking acquire outlives a Redis outage within its deadline: the same request (same id,
     * so a reply lost with the connection is not counted twice) is sent again after a backoff.
     *
     * @return whether a retry is scheduled
     */
    private boolean retryWhenRedisIsBack(Throwable error) {
        if (!RedisConnections.unreachable(error)) {
            return false;
        }
        limiter.outage().unreachable(error);
        long remaining = deadlineNanos - System.nanoTime();
        if (!blocking || !limiter.waitsForRedis() || remaining <= 0 || result.isDone()) {
            return false;
        }
        long delay = Math.min(backoffNanos, remaining);
        backoffNanos = Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
        log.debug("{} Redis unreachable, trying again in {} ms", target, delay / 1_000_000);
        limiter.timer().schedule(this::attempt, delay, TimeUnit.NANOSECONDS);
        return true;
    }

    private void handle(List<Object> reply, CompletableFuture<Void> wake) {
        long code = (Long) reply.get(0);
        if (code == 1) {
            limiter.hub().unregister(keys.channel(), requestId);
            long admitted = (Long) reply.get(1);
            long expiry = (Long) reply.get(2);
            limiter.metrics().acquired(target, Duration.ofNanos(System.nanoTime() - startNanos));
            limiter.admitted(target);
            result.complete(new RedisPermit(limiter, target, keys, requestId, estimate, admitted, expiry - admitted));
            return;
        }
        if (code == -1) {
            limiter.hub().unregister(keys.channel(), requestId);
            result.completeExceptionally(new EstimateTooLargeException(target, spec((String) reply.get(1)), estimate));
            return;
        }
        if (code == -2) {
            if (configWrites >= MAX_CONFIG_WRITES) {
                limiter.hub().unregister(keys.channel(), requestId);
                result.completeExceptionally(new IllegalStateException("config of " + target + " vanished"));
                return;
            }
            limiter.ensureConfig(target).whenComplete((ok, e) -> {
                if (e != null) {
                    if (!retryWhenRedisIsBack(e)) {
                        result.completeExceptionally(limiter.unavailable(target, "config", e));
                    }
                } else {
                    configWrites++;
                    attempt();
                }
            });
            return;
        }
        refused((String) reply.get(1), (Long) reply.get(2), (String) reply.get(3), (Long) reply.get(4), wake);
    }

    private void refused(String reason, long retryAtMicros, String limit, long nowMicros, CompletableFuture<Void> wake) {
        long delayNanos = Math.max(0, retryAtMicros - nowMicros) * 1000;
        String which = "window".equals(reason) ? spec(limit) : "provider".equals(reason) ? limit : "";
        long remaining = deadlineNanos - System.nanoTime();
        boolean exact = !"queued".equals(reason) && !"concurrency".equals(reason);
        if (!blocking || remaining <= 0 || (exact && delayNanos > remaining)) {
            abandon();
            limiter.metrics().refused(target, reason, which);
            if (blocking) {
                log.info("{} gave up waiting: refused by {}, could succeed in {} ms", target,
                        which.isEmpty() ? reason : which, delayNanos / 1_000_000);
            }
            result.completeExceptionally(new RateLimitedException(target, reason, which, Duration.ofNanos(delayNanos)));
            return;
        }
        if (!limiter.hub().subscribed(keys.channel())) {
            // A wake-up sent before the subscription was active would be lost: subscribe, then retry at once.
            limiter.hub().subscribe(keys.channel()).whenComplete((ok, e) -> {
                if (e == null) {
                    attempt();
                } else {
                    // The pub/sub connection is still reconnecting: not a reason to spin on Redis.
                    limiter.timer().schedule(this::attempt, Math.min(MAX_BACKOFF_NANOS, Math.max(0, remaining)),
                            TimeUnit.NANOSECONDS);
                }
            });
            return;
        }
        if (!loggedWait && exact) {
            loggedWait = true;
            // Short waits are the limiter working as meant; long ones are worth a user's attention.
            if (delayNanos >= 1_000_000_000L) {
                log.info("{} throttled by {}, waiting {} ms", target, which.isEmpty() ? reason : which, delayNanos / 1_000_000);
            } else {
                log.debug("{} throttled by {}, waiting {} ms", target, which.isEmpty() ? reason : which, delayNanos / 1_000_000);
            }
        }
        long wait = Math.min(delayNanos, remaining);
        limiter.timer().schedule(() -> wake.complete(null), wait, TimeUnit.NANOSECONDS);
        wake.thenRun(this::attempt);
    }

    /** Turns the scripts' {@code r:500:60000} into the compact form {@code requests=500/60s}. */
    static String spec(String scriptSpec) {
        String[] p = scriptSpec.split(":");
        if (p.length != 3) {
            return scriptSpec;
        }
        return new Limit(io.llmlimiter.client.Resource.fromCode(p[0]), Long.parseLong(p[1]),
                Duration.ofMillis(Long.parseLong(p[2]))).toString();
    }
}
