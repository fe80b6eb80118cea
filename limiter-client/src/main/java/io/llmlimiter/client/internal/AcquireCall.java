package io.llmlimiter.client.internal;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.Budget;
import io.llmlimiter.client.BudgetExceededException;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.EstimateTooLargeException;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.RateLimitedException;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.scripts.LuaScript;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One acquire: calls the acquire script, and when refused sleeps until the time Redis named or
 * until pub/sub says it is this request's turn, then tries again with the same request id (so it
 * keeps its place in line). Never polls.
 *
 * <p>A reply lost on the way back (command timeout) is resent under the same request id: the script
 * answers a replay with the admission it already made, so nothing is counted twice. A blocking
 * acquire whose Redis is unreachable tries again with backoff, same request id, until Redis answers
 * or its deadline passes: nothing is admitted without Redis, and a short outage is not a failure.
 * When the caller's future is cancelled, times out or is failed by close, the call leaves the line
 * and releases an admission that arrives afterwards. Steps run one after another; only the caller's
 * cancellation comes from another thread, and every step checks for it.
 *
 * <p>Calls of one process for one target wait in a {@link LocalLine}: only its head runs the
 * steps above; the calls behind it ride on the head's script call (batch admission, a prefix in
 * arrival order) or wait their turn, each within its own deadline, without touching Redis.
 */
final class AcquireCall {

    private static final Logger log = LoggerFactory.getLogger(AcquireCall.class);
    /** Resends of an acquire whose reply was lost, on top of the first send (the deadline also bounds them). */
    private static final int MAX_RESENDS = 20;
    private static final long FIRST_BACKOFF_NANOS = 20_000_000L;
    private static final long MAX_BACKOFF_NANOS = 250_000_000L;
    /** Config writes one acquire may make: Redis may restart empty during a long wait, more is a bug. */
    private static final int MAX_CONFIG_WRITES = 3;

    private final RedisLimiter limiter;
    private final Target target;
    private final Tenant tenant;
    private final Keys keys;
    private final Estimate estimate;
    private final boolean blocking;
    private final long deadlineNanos;
    private final long startNanos = System.nanoTime();
    private volatile String requestId;
    private final boolean async;
    private final CompletableFuture<Permit> result = new CompletableFuture<>();
    private final LocalLine line;

    // Mutable state
    private int configWrites;
    private boolean loggedWait;
    private int resends;
    /** A sent acquire got no answer: Redis may hold an admission for this id. */
    private volatile boolean maybeAdmitted;
    /** This call settled the result itself; a later exceptional completion is not a cancellation. */
    private volatile boolean settled;
    private volatile ScheduledFuture<?> sleeper;
    /** Fails a waiter behind the head at its deadline. */
    private volatile ScheduledFuture<?> deadlineTimer;
    /** Sent an acquire as the head, so it may hold a Redis ticket. */
    private volatile boolean ticketed;
    /** The waiters that rode on the last script call; kept for resends while its reply is unknown. */
    private volatile List<AcquireCall> batch = List.of();
    /**
     * Redis refused this call because another process's waiter was ahead of it: the target is
     * saturated and shared, so this call takes nobody along when admitted. Batches there would hand
     * whole chunks of freed budget to one process in turn, and the chunks (which free again a
     * window later in the same shape) would keep going to the same processes; one admission per
     * turn keeps the processes' shares equal. Alone (or unsaturated), batches stay. On a target that
     * shares fairly, batches stay too: the script lets riders in only within a small quantum of
     * the next waiting ticket's key, so turns are kept by the tenants' counters.
     */
    private volatile boolean sawOthersAhead;
    /**
     * The head's script call put this waiter in the Redis line with a ticket of its own (a fairly
     * shared target where others wait): once it is the head, it waits for its wake-up (or checks
     * in) instead of calling at once only to be told to wait.
     */
    private volatile boolean handed;
    /** A script call of this head is on its way: its reply decides the riders, so the head leaves after it. */
    private volatile boolean inFlight;
    private long backoffNanos = FIRST_BACKOFF_NANOS;
    /** The estimate's cost in micro-dollars as last sent: reserved against the target's dollar budgets. */
    private volatile long costMicros;
    /** Waited once for the target's config, so the estimate is priced as the config says. */
    private boolean configAwaited;

    /**
     * @param async whether the result is a caller's future: completed on the callback executor; a
     *     blocking caller waits on it and gets it completed directly
     */
    AcquireCall(RedisLimiter limiter, Target target, Tenant tenant, Estimate estimate, Duration maxWait, boolean async) {
        this.limiter = limiter;
        this.target = target;
        this.tenant = tenant;
        this.keys = Keys.of(target);
        this.estimate = estimate;
        this.blocking = !maxWait.isZero() && !maxWait.isNegative();
        this.deadlineNanos = System.nanoTime() + Math.max(0, maxWait.toNanos());
        this.async = async;
        this.line = limiter.line(target, tenant);
        this.requestId = RequestIds.next(line.processId());
    }

    CompletableFuture<Permit> start() {
        limiter.callbacks().track(result).whenComplete((permit, error) -> {
            if (error != null && !settled) {
                // Cancelled, timed out (orTimeout) or failed by close: leave the line now.
                abandon();
                if (!inFlight) {
                    if (maybeAdmitted) {
                        releaseLost();
                    }
                    leaveLine();
                }
            }
        });
        if (result.isDone()) {
            return result;
        }
        if (!blocking && line.headWaiting()) {
            // The head of this process's line was refused: arrival order says this one cannot pass it.
            limiter.metrics().refused(target, "queued", "");
            fail(new RateLimitedException(target, "queued", "", Duration.ZERO));
            return result;
        }
        if (line.join(this)) {
            attempt();
        } else if (blocking) {
            deadlineTimer = limiter.schedule(this::deadlinePassed, Math.max(0, deadlineNanos - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
        }
        return result;
    }

    String requestId() {
        return requestId;
    }

    boolean blocking() {
        return blocking;
    }

    /** @return whether the call has its answer, or its caller gave up */
    boolean settledOrDone() {
        return settled || result.isDone();
    }

    /** A waiter behind the head whose deadline passed; the head checks its own deadline itself. */
    private void deadlinePassed() {
        if (result.isDone() || line.isHead(this)) {
            return;
        }
        if (limiter.outage().down()) {
            fail(limiter.unavailable(target, "acquire", new RedisConnectionException("Redis is unreachable")));
        } else {
            limiter.metrics().refused(target, "queued", "");
            fail(new RateLimitedException(target, "queued", "", Duration.ZERO));
        }
    }

    /** Leaves this process's line; the next waiter becomes the head and sends when this was the head. */
    private void leaveLine() {
        ScheduledFuture<?> d = deadlineTimer;
        if (d != null) {
            d.cancel(false);
        }
        AcquireCall next = line.leave(this);
        if (next != null) {
            next.promoted();
        }
    }

    /** This waiter is the head now: it sends for itself and the waiters behind it. */
    private void promoted() {
        ScheduledFuture<?> d = deadlineTimer;
        if (d != null) {
            d.cancel(false);
        }
        if (result.isDone()) {
            leaveLine();
            return;
        }
        if (handed && blocking && limiter.hub().subscribed(keys.channel())) {
            handed = false;
            CompletableFuture<Void> wake = limiter.hub().register(keys.channel(), requestId);
            awaitTurn(wake, Math.max(0, deadlineNanos - System.nanoTime()), limiter.ticketTtl().toNanos() / 2);
            return;
        }
        handed = false;
        attempt();
    }

    /** Leaves the line; the next waiter is woken at once. */
    void abandon() {
        limiter.hub().unregister(keys.channel(), requestId);
        ScheduledFuture<?> s = sleeper;
        if (s != null) {
            s.cancel(false);
        }
        if (blocking && ticketed) {
            limiter.callbacks().cleanup(limiter.scripts().run(LuaScript.CANCEL, ScriptOutputType.INTEGER, keys,
                    requestId, keys.channel()));
        }
    }

    private void attempt() {
        if (result.isDone()) {
            return;
        }
        line.headWaiting(this, false);
        if (!maybeAdmitted) {
            // A resend after a lost reply carries the same waiters: Redis may have admitted them.
            batch = sawOthersAhead && !fairShared() ? List.of() : line.followers(this);
        }
        if (!configAwaited && !limiter.configKnown(target)) {
            // The first call of a target in this process: its price may come from the config.
            configAwaited = true;
            limiter.configNow(target).whenComplete((c, e) -> attempt());
            return;
        }
        CompletableFuture<Void> prices = limiter.pricing().ready();
        if (!prices.isDone()) {
            // The first call of this process: the price table is read from the jar off this thread.
            prices.whenComplete((v, e) -> attempt());
            return;
        }
        List<AcquireCall> riders = batch;
        LimitConfig config = limiter.configFor(target);
        String[] args = new String[12 + 5 * riders.size()];
        args[0] = requestId;
        args[1] = Long.toString(estimate.tokens());
        args[2] = Long.toString(estimate.inputTokens());
        args[3] = Long.toString(estimate.outputTokens());
        args[4] = "";
        args[5] = blocking ? "1" : "0";
        args[6] = Long.toString(limiter.ticketTtl().toMillis());
        args[7] = keys.channel();
        args[8] = Integer.toString(riders.size());
        int a = 9;
        for (AcquireCall r : riders) {
            args[a++] = r.requestId;
            args[a++] = Long.toString(r.estimate.tokens());
            args[a++] = Long.toString(r.estimate.inputTokens());
            args[a++] = Long.toString(r.estimate.outputTokens());
        }
        costMicros = limiter.pricing().estimate(target, config, estimate);
        args[a++] = Long.toString(costMicros);
        for (AcquireCall r : riders) {
            r.costMicros = limiter.pricing().estimate(target, config, r.estimate);
            args[a++] = Long.toString(r.costMicros);
        }
        args[a++] = tenant.name();
        args[a] = tenant.priority().label();
        ticketed |= blocking;
        CompletableFuture<Void> wake = blocking ? limiter.hub().register(keys.channel(), requestId) : null;
        inFlight = true;
        limiter.scripts().<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, keys, args)
                .whenComplete((reply, error) -> {
                    inFlight = false;
                    if (error != null) {
                        limiter.hub().unregister(keys.channel(), requestId);
                        failed(error);
                    } else {
                        backoffNanos = FIRST_BACKOFF_NANOS;
                        limiter.outage().answered();
                        maybeAdmitted = false;
                        handle(reply, wake);
                    }
                });
    }

    /**
     * A failed acquire. A timeout means the script may have run with its reply lost: resend under
     * the same id while the deadline (plus a command timeout) allows; when giving up, release what
     * Redis may hold for this id so it does not take a slot until its lease TTL.
     */
    private void failed(Throwable error) {
        Throwable cause = ScriptRunner.unwrap(error);
        maybeAdmitted |= mayHaveRun(cause);
        if (result.isDone()) {
            if (maybeAdmitted) {
                releaseLost();
            }
            leaveLine();
            return;
        }
        long now = System.nanoTime();
        // Once a reply was lost, Redis may hold an admission: keep asking (also across the reconnect
        // that often follows) until the answer comes or the deadline passes.
        if (maybeAdmitted && !(cause instanceof RedisCommandExecutionException) && resends < MAX_RESENDS
                && now < deadlineNanos + limiter.commandTimeout().toNanos()) {
            resends++;
            log.debug("{} acquire {} got no reply; resending under the same id", target, requestId);
            if (limiter.schedule(this::attempt, Math.min(500, 25L * resends), TimeUnit.MILLISECONDS) != null) {
                return;
            }
        }
        if (waitForRedis(cause)) {
            return;
        }
        if (maybeAdmitted) {
            releaseLost();
        } else {
            // A ticket taken by an earlier attempt must not hold the line until it lapses.
            abandon();
        }
        fail(limiter.unavailable(target, "acquire", error));
    }

    /**
     * A blocking acquire outlives a Redis outage within its deadline: the same request (same id,
     * so nothing counts twice) is sent again after a backoff, until Redis answers or the deadline
     * passes. Not in degraded mode, which falls back at once instead.
     *
     * @return whether a retry is scheduled
     */
    private boolean waitForRedis(Throwable cause) {
        if (!RedisConnections.unreachable(cause)) {
            return false;
        }
        limiter.outage().unreachable(cause);
        long remaining = deadlineNanos - System.nanoTime();
        if (!blocking || !limiter.waitsForRedis() || remaining <= 0 || result.isDone()) {
            return false;
        }
        long delay = Math.min(backoffNanos, remaining);
        backoffNanos = Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
        log.debug("{} Redis unreachable, trying again in {} ms", target, delay / 1_000_000);
        return limiter.schedule(this::attempt, delay, TimeUnit.NANOSECONDS) != null;
    }

    /**
     * @return whether the command may have run with its reply lost: it timed out, or the connection
     *     dropped while it was in flight (Lettuce reports that as a plain {@link RedisException}); not
     *     when it was refused before sending or when the script itself answered with an error
     */
    static boolean mayHaveRun(Throwable cause) {
        if (cause instanceof RedisCommandTimeoutException || cause instanceof RedisConnectionException) {
            return true;
        }
        if (cause instanceof RedisCommandExecutionException || !(cause instanceof RedisException)) {
            return false;
        }
        String m = String.valueOf(cause.getMessage());
        return m.startsWith("Connection disconnected") || m.startsWith("Connection closed");
    }

    /**
     * Releases an admission this id may hold although its reply never arrived: a resend flag makes
     * the script count nothing when there is no lease. Retried in the background.
     */
    private void releaseLost() {
        maybeAdmitted = false;
        abandon();
        release(requestId);
        List<AcquireCall> riders = batch;
        batch = List.of();
        for (AcquireCall r : riders) {
            // Redis may hold an admission for the rider too: released, and the rider (if it still
            // waits) asks again under a new id, so the release can never undo its next admission.
            String old = r.requestId;
            r.requestId = RequestIds.next(line.processId());
            release(old);
        }
    }

    private void release(String id) {
        limiter.retrying(target, "release of unanswered acquire " + id,
                () -> limiter.scripts().run(LuaScript.COMPLETE, ScriptOutputType.MULTI, keys, id, "0",
                        "0", "0", "0", "", keys.channel(), "1", "", "", "", "", "", ""));
    }

    private void fail(Throwable error) {
        settled = true;
        leaveLine();
        if (async) {
            limiter.callbacks().dispatch(() -> result.completeExceptionally(error));
        } else {
            result.completeExceptionally(error);
        }
    }

    /** Whoever loses the race to complete the result owns the permit and releases it. */
    private void succeed(RedisPermit permit) {
        settled = true;
        leaveLine();
        if (result.isDone()) {
            permit.completion(null);
        } else if (async) {
            limiter.callbacks().dispatch(() -> {
                if (!result.complete(permit)) {
                    permit.completion(null);
                }
            });
        } else if (!result.complete(permit)) {
            permit.completion(null);
        }
    }

    /** Admitted, by its own script call or riding on the head's. */
    private void admittedAs(long admittedMicros, long ttlMicros) {
        long waited = System.nanoTime() - startNanos;
        limiter.metrics().acquired(target, Duration.ofNanos(waited));
        limiter.waitTimes().record(target, waited);
        limiter.stats().waited(target, tenant.priority(), waited);
        succeed(new RedisPermit(limiter, target, keys, requestId, estimate, admittedMicros, ttlMicros, costMicros,
                tenant.name()));
    }

    private void handle(List<Object> reply, CompletableFuture<Void> wake) {
        long code = (Long) reply.get(0);
        if (code == 1) {
            limiter.hub().unregister(keys.channel(), requestId);
            long admitted = (Long) reply.get(1);
            long expiry = (Long) reply.get(2);
            // lease_expiry_us = 0: the target has no concurrency cap and holds no lease.
            long ttl = expiry == 0 ? 0 : expiry - admitted;
            List<AcquireCall> riders = batch;
            batch = List.of();
            int n = reply.size() > 4 ? (int) (long) (Long) reply.get(4) : 0;
            limiter.admitted(target);
            // Riders are settled before the head leaves the line, so none of them becomes the next head.
            for (int i = 0; i < n && i < riders.size(); i++) {
                riders.get(i).settled = true;
            }
            if (n < riders.size() && reply.size() > 5 + n && Long.valueOf(1).equals(reply.get(5 + n))) {
                // The first rider left out holds a ticket now: it waits for its turn, or gives the ticket back.
                AcquireCall next = riders.get(n);
                next.ticketed = true;
                if (next.blocking && !next.settledOrDone()) {
                    next.handed = true;
                } else {
                    limiter.callbacks().cleanup(limiter.scripts().run(LuaScript.CANCEL, ScriptOutputType.INTEGER, keys,
                            next.requestId, keys.channel()));
                }
            }
            // The rest stay in line; one that does not wait had its chance behind an admitted head.
            for (int i = n; i < riders.size(); i++) {
                AcquireCall r = riders.get(i);
                if (!r.blocking && !r.settledOrDone()) {
                    limiter.metrics().refused(target, "queued", "");
                    r.fail(new RateLimitedException(target, "queued", "", Duration.ZERO));
                }
            }
            admittedAs(admitted, ttl);
            for (int i = 0; i < n && i < riders.size(); i++) {
                riders.get(i).admittedAs((Long) reply.get(5 + i), ttl);
            }
            return;
        }
        batch = List.of();
        if (result.isDone()) {
            // Cancelled while this attempt was on its way: it may have (re)taken a ticket after the cancel.
            abandon();
            leaveLine();
            return;
        }
        if (code == -1) {
            limiter.hub().unregister(keys.channel(), requestId);
            fail(new EstimateTooLargeException(target, spec((String) reply.get(1)), estimate));
            return;
        }
        if (code == -2) {
            if (configWrites >= MAX_CONFIG_WRITES) {
                limiter.hub().unregister(keys.channel(), requestId);
                fail(new IllegalStateException("config of " + target + " vanished"));
                return;
            }
            limiter.ensureConfig(target).whenComplete((ok, e) -> {
                if (e != null) {
                    if (!waitForRedis(ScriptRunner.unwrap(e))) {
                        fail(limiter.unavailable(target, "config", e));
                    }
                } else {
                    configWrites++;
                    attempt();
                }
            });
            return;
        }
        if ("budget".equals(reply.get(1))) {
            // A dollar budget is never waited for: it frees as past spend ages out, or at the UTC reset.
            limiter.hub().unregister(keys.channel(), requestId);
            String budget = Budget.fromScriptName((String) reply.get(3));
            long at = (Long) reply.get(2);
            limiter.metrics().refused(target, "budget", budget);
            log.info("{} refused by the budget {}: {} micro-dollars left", target, budget, reply.get(5));
            fail(new BudgetExceededException(target, budget, (Long) reply.get(5), costMicros,
                    at == 0 ? null : Instant.ofEpochSecond(at / 1_000_000, (at % 1_000_000) * 1000)));
            return;
        }
        refused((String) reply.get(1), (Long) reply.get(2), (String) reply.get(3), (Long) reply.get(4), wake);
    }

    private void refused(String reason, long retryAtMicros, String limit, long nowMicros, CompletableFuture<Void> wake) {
        sawOthersAhead |= "queued".equals(reason);
        long delayNanos = Math.max(0, retryAtMicros - nowMicros) * 1000;
        String which = "window".equals(reason) || "tenant".equals(reason) ? spec(limit)
                : "provider".equals(reason) ? limit : "";
        long remaining = deadlineNanos - System.nanoTime();
        boolean exact = !"queued".equals(reason) && !"concurrency".equals(reason);
        if (!blocking || remaining <= 0 || (exact && delayNanos > remaining)) {
            abandon();
            limiter.metrics().refused(target, reason, which);
            if (blocking) {
                log.info("{} gave up waiting: refused by {}, could succeed in {} ms", target,
                        which.isEmpty() ? reason : which, delayNanos / 1_000_000);
            }
            fail(new RateLimitedException(target, reason, which, Duration.ofNanos(delayNanos)));
            return;
        }
        if (!limiter.hub().subscribed(keys.channel())) {
            // A wake-up sent before the subscription was active would be lost: subscribe, then retry at once.
            limiter.hub().subscribe(keys.channel()).whenComplete((ok, e) -> {
                if (e == null) {
                    attempt();
                } else {
                    // The pub/sub connection is still reconnecting: not a reason to spin on Redis.
                    limiter.schedule(this::attempt, Math.min(MAX_BACKOFF_NANOS, Math.max(0, remaining)),
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
        line.headWaiting(this, true);
        for (AcquireCall f : line.nonBlockingFollowers()) {
            if (!f.settledOrDone()) {
                limiter.metrics().refused(target, reason, which);
                f.fail(new RateLimitedException(target, reason, which, Duration.ofNanos(delayNanos)));
            }
        }
        // Check in at least every half ticket TTL, so the ticket stays alive while waiting.
        awaitTurn(wake, remaining, Math.min(delayNanos, limiter.ticketTtl().toNanos() / 2));
    }

    /** Sleeps, as the head holding a ticket, until woken or the delay (at most the deadline) passes; then calls. */
    private void awaitTurn(CompletableFuture<Void> wake, long remainingNanos, long delayNanos) {
        line.headWaiting(this, true);
        sleeper = limiter.schedule(() -> wake.complete(null), Math.min(delayNanos, remainingNanos), TimeUnit.NANOSECONDS);
        wake.thenRun(this::attempt);
    }

    /** @return whether the target's config, as known here, shares the budget fairly among tenants */
    private boolean fairShared() {
        LimitConfig config = limiter.configFor(target);
        return config != null && config.fairShare() != null;
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
