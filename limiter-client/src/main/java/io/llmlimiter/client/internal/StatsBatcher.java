package io.llmlimiter.client.internal;

import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import io.llmlimiter.scripts.LuaScript;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stats counters of completions that need no script (a lease-free admission under {@code keep}
 * accounting, its usage within the estimate), the cost of every completion per tenant, and the
 * admission waits per priority class: added up here and flushed at most once a second per target,
 * one pipelined {@code HINCRBY} per counter and one {@code spend.lua} call for the rest, and on
 * close. A flush that fails is added back and sent with the next one; after
 * {@link RedisLimiter#BACKGROUND_TRIES} failed flushes in a row the counts are logged at WARN and
 * metered as lost. The counter names are the ones {@code complete.lua} bumps.
 *
 * <p>On a target that shares fairly, completions whose usage differs from their estimate also add
 * up, per tenant, the tokens served minus the tokens charged; the flush sends them to
 * {@code served.lua} under this process's id and a sequence number. A send that gets no answer is
 * sent again unchanged (same number: Redis applies it once) before any newer sums, and after
 * {@link RedisLimiter#BACKGROUND_TRIES} failed sends it is logged at WARN and metered as lost. This
 * class is thread-safe.
 */
final class StatsBatcher {

    private static final Logger log = LoggerFactory.getLogger(StatsBatcher.class);
    private static final long FLUSH_MILLIS = 1000;
    /** How many tenants of a target one flush sends by name; later ones in the same flush count as other. */
    static final int TENANTS_PER_FLUSH = 128;
    /** How many tenants of a target are counted by name per UTC month when its config has no fair share. */
    static final int DEFAULT_TENANT_CAP = 100;
    /** The name spend past a cap counts under. */
    static final String OTHER = "other";

    private final RedisLimiter limiter;
    private final Map<Target, Counts> counts = new ConcurrentHashMap<>();
    private volatile boolean scheduled;

    StatsBatcher(RedisLimiter limiter) {
        this.limiter = limiter;
    }

    /** What one target's completions added since the last flush. Guarded by its own monitor. */
    private static final class Counts {
        long completed;
        long input;
        long output;
        long cached;
        long estimated;
        long cost;
        /** Tenant -> micro-dollars, at most {@link #TENANTS_PER_FLUSH} tenants plus other. */
        Map<String, Long> tenantCost = new HashMap<>();
        /** Per priority class (by ordinal): admissions, summed wait, longest wait, in microseconds. */
        long[][] waits = new long[Priority.values().length][3];
        int failedFlushes;
        /** Tokens served minus tokens charged, per tenant, not yet in a send. */
        final Map<String, Long> served = new LinkedHashMap<>();
        /** The send of served tokens not yet answered, or null. */
        Served unanswered;
        long servedSeq;
        int failedServed;

        boolean empty() {
            return statsEmpty() && served.isEmpty() && unanswered == null;
        }

        boolean statsEmpty() {
            return completed == 0 && input == 0 && output == 0 && cached == 0 && estimated == 0 && cost == 0
                    && tenantCost.isEmpty() && !waitsOf(waits);
        }

        /** @return the send to make now: the unanswered one, else a new one of what added up, else null */
        Served nextServed() {
            if (unanswered == null && !served.isEmpty()) {
                List<String> tenants = new ArrayList<>();
                List<Long> deltas = new ArrayList<>();
                for (var it = served.entrySet().iterator(); it.hasNext() && tenants.size() < MAX_TENANTS; ) {
                    var e = it.next();
                    it.remove();
                    if (e.getValue() != 0) {
                        tenants.add(e.getKey());
                        deltas.add(e.getValue());
                    }
                }
                if (!tenants.isEmpty()) {
                    unanswered = new Served(++servedSeq, tenants, deltas);
                }
            }
            return unanswered;
        }

        void addTenant(String tenant, long micros) {
            String name = tenantCost.containsKey(tenant) || tenantCost.size() < TENANTS_PER_FLUSH ? tenant : OTHER;
            tenantCost.merge(name, micros, Long::sum);
        }

        void addWaits(long[][] more) {
            for (int p = 0; p < waits.length; p++) {
                waits[p][0] += more[p][0];
                waits[p][1] += more[p][1];
                waits[p][2] = Math.max(waits[p][2], more[p][2]);
            }
        }
    }

    /**
     * The cost of a completion that a script recorded for the target: it is counted for its tenant here.
     *
     * @param costMicros the call's cost in micro-dollars
     * @param tenant whom the call was for
     */
    void tenantSpent(Target target, String tenant, long costMicros) {
        if (costMicros <= 0) {
            return;
        }
        Counts c = counts.computeIfAbsent(target, t -> new Counts());
        synchronized (c) {
            c.addTenant(tenant, costMicros);
        }
        schedule();
    }

    /**
     * An admission's wait, from the call to acquire to its admission.
     *
     * @param priority its class
     * @param waitNanos the wait
     */
    void waited(Target target, Priority priority, long waitNanos) {
        long us = Math.max(0, waitNanos / 1000);
        Counts c = counts.computeIfAbsent(target, t -> new Counts());
        synchronized (c) {
            long[] w = c.waits[priority.ordinal()];
            w[0]++;
            w[1] += us;
            w[2] = Math.max(w[2], us);
        }
        schedule();
    }

    /** One send to served.lua: applied once per sequence number, so it is resent unchanged. */
    private record Served(long seq, List<String> tenants, List<Long> deltas) {
    }

    /** Tenants per served.lua call, at most (the script's bound). */
    static final int MAX_TENANTS = 256;

    /**
     * A completion on a target that shares fairly whose usage differs from its estimate.
     *
     * @param tenant the tenant its admission was charged to
     * @param tokens tokens served (input + output) minus tokens charged at admission
     */
    void served(Target target, String tenant, long tokens) {
        Counts c = counts.computeIfAbsent(target, t -> new Counts());
        synchronized (c) {
            c.served.merge(tenant, tokens, Long::sum);
        }
        schedule();
    }

    private void schedule() {
        if (!scheduled) {
            synchronized (this) {
                if (!scheduled) {
                    scheduled = limiter.schedule(this::flushAll, FLUSH_MILLIS, TimeUnit.MILLISECONDS) != null;
                }
            }
        }
    }

    /**
     * A completion that needs no script: its counters are added here.
     *
     * @param costMicros the call's cost in micro-dollars (0: none known)
     * @param tenant whom the call was for; its cost counts for it too
     */
    void completed(Target target, long estimatedTokens, Usage usage, long costMicros, String tenant) {
        Counts c = counts.computeIfAbsent(target, t -> new Counts());
        synchronized (c) {
            c.completed++;
            c.cost += Math.max(0, costMicros);
            if (costMicros > 0) {
                c.addTenant(tenant, costMicros);
            }
            c.estimated += estimatedTokens;
            if (usage != null) {
                c.input += usage.inputTokens();
                c.output += usage.outputTokens();
                c.cached += Math.max(0, usage.cacheReadTokens());
            }
        }
        schedule();
    }

    private void flushAll() {
        synchronized (this) {
            scheduled = false;
        }
        boolean more = false;
        for (Target t : List.copyOf(counts.keySet())) {
            flush(t);
        }
        for (Counts c : counts.values()) {
            synchronized (c) {
                more |= !c.empty();
            }
        }
        if (more) {
            schedule();
        }
    }

    /**
     * Sends what the target added up; a failed send is added back (served tokens: kept to be sent
     * again unchanged).
     *
     * @return completes (never exceptionally) once the counters were sent or added back; stats read
     *     after it include every completion of this client so far
     */
    CompletableFuture<Void> flush(Target target) {
        Counts c = counts.get(target);
        if (c == null) {
            return CompletableFuture.completedFuture(null);
        }
        Served served;
        synchronized (c) {
            served = c.nextServed();
        }
        CompletableFuture<Void> stats = flushStats(target, c);
        if (served == null) {
            return stats;
        }
        return CompletableFuture.allOf(stats, sendServed(target, c, served));
    }

    private CompletableFuture<Void> sendServed(Target target, Counts c, Served served) {
        String[] args = new String[3 + 2 * served.tenants().size()];
        args[0] = limiter.processId();
        args[1] = Long.toString(served.seq());
        args[2] = Integer.toString(served.tenants().size());
        for (int i = 0; i < served.tenants().size(); i++) {
            args[3 + 2 * i] = served.tenants().get(i);
            args[4 + 2 * i] = Long.toString(served.deltas().get(i));
        }
        CompletableFuture<Long> sent;
        try {
            sent = limiter.scripts().run(LuaScript.SERVED, ScriptOutputType.INTEGER, Keys.of(target), args);
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        return sent.handle((ok, e) -> {
            synchronized (c) {
                if (c.unanswered != served) {
                    return null;
                }
                if (e == null) {
                    c.unanswered = null;
                    c.failedServed = 0;
                } else if (++c.failedServed >= RedisLimiter.BACKGROUND_TRIES) {
                    log.warn("{} could not correct the fair-share counters of {} tenants after {} attempts: {}", target,
                            served.tenants().size(), c.failedServed, Redacted.message(ScriptRunner.unwrap(e)));
                    limiter.metrics().backgroundFailed(target, "served");
                    c.unanswered = null;
                    c.failedServed = 0;
                }
            }
            return null;
        });
    }

    private CompletableFuture<Void> flushStats(Target target, Counts c) {
        long completed;
        long input;
        long output;
        long cached;
        long estimated;
        long cost;
        Map<String, Long> tenantCost;
        long[][] waits;
        synchronized (c) {
            if (c.statsEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            completed = c.completed;
            input = c.input;
            output = c.output;
            cached = c.cached;
            estimated = c.estimated;
            c.completed = 0;
            c.input = 0;
            c.output = 0;
            c.cached = 0;
            c.estimated = 0;
            cost = c.cost;
            c.cost = 0;
            tenantCost = c.tenantCost;
            c.tenantCost = new HashMap<>();
            waits = c.waits;
            c.waits = new long[Priority.values().length][3];
        }
        String key = Keys.of(target).stats();
        List<CompletableFuture<Long>> sent = new ArrayList<>();
        try {
            var commands = limiter.scripts().commands();
            if (completed != 0) {
                sent.add(commands.hincrby(key, "completed", completed).toCompletableFuture());
                sent.add(commands.hincrby(key, "estimated_tokens", estimated).toCompletableFuture());
            }
            if (input != 0) {
                sent.add(commands.hincrby(key, "actual_input_tokens", input).toCompletableFuture());
            }
            if (output != 0) {
                sent.add(commands.hincrby(key, "actual_output_tokens", output).toCompletableFuture());
            }
            if (cached != 0) {
                sent.add(commands.hincrby(key, "cache_read_tokens", cached).toCompletableFuture());
            }
            if (cost != 0 || !tenantCost.isEmpty() || waitsOf(waits)) {
                sent.add(limiter.scripts().<Long>run(LuaScript.SPEND, ScriptOutputType.INTEGER, Keys.of(target),
                        spendArgs(target, cost, tenantCost, waits)));
            }
        } catch (RuntimeException e) {
            sent.add(CompletableFuture.failedFuture(e));
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new));
        return all.handle((ok, e) -> {
            if (e == null) {
                synchronized (c) {
                    c.failedFlushes = 0;
                }
                return null;
            }
            // Which command ran is known from its own future: only the ones that failed are added back.
            // A send that threw left the later ones unsent: those are added back too.
            synchronized (c) {
                int i = 0;
                if (completed != 0 && lost(sent, i++)) {
                    c.completed += completed;
                }
                if (completed != 0 && lost(sent, i++)) {
                    c.estimated += estimated;
                }
                if (input != 0 && lost(sent, i++)) {
                    c.input += input;
                }
                if (output != 0 && lost(sent, i++)) {
                    c.output += output;
                }
                if (cached != 0 && lost(sent, i++)) {
                    c.cached += cached;
                }
                if ((cost != 0 || !tenantCost.isEmpty() || waitsOf(waits)) && lost(sent, i)) {
                    c.cost += cost;
                    tenantCost.forEach(c::addTenant);
                    c.addWaits(waits);
                }
                c.failedFlushes++;
                if (c.failedFlushes >= RedisLimiter.BACKGROUND_TRIES) {
                    log.warn("{} could not record the stats of {} completed calls after {} attempts: {}", target,
                            c.completed, c.failedFlushes, Redacted.message(ScriptRunner.unwrap(e)));
                    limiter.metrics().backgroundFailed(target, "stats");
                    c.completed = 0;
                    c.input = 0;
                    c.output = 0;
                    c.cached = 0;
                    c.estimated = 0;
                    c.cost = 0;
                    c.tenantCost = new HashMap<>();
                    c.waits = new long[Priority.values().length][3];
                    c.failedFlushes = 0;
                }
            }
            return null;
        });
    }

    private static boolean waitsOf(long[][] waits) {
        for (long[] w : waits) {
            if (w[0] != 0) {
                return true;
            }
        }
        return false;
    }

    /** spend.lua's ARGV: the target's cost, the tenant cap, the tenants' costs and the waits per class. */
    private String[] spendArgs(Target target, long cost, Map<String, Long> tenantCost, long[][] waits) {
        LimitConfig config = limiter.knownConfig(target);
        int cap = config != null && config.fairShare() != null ? config.fairShare().maxTenants() : DEFAULT_TENANT_CAP;
        List<String> args = new ArrayList<>(List.of(Long.toString(cost), "", Integer.toString(cap),
                Integer.toString(tenantCost.size())));
        tenantCost.forEach((tenant, micros) -> {
            args.add(tenant);
            args.add(Long.toString(micros));
        });
        List<String> classes = new ArrayList<>();
        for (Priority p : Priority.values()) {
            long[] w = waits[p.ordinal()];
            if (w[0] != 0) {
                classes.addAll(List.of(p.label(), Long.toString(w[0]), Long.toString(w[1]), Long.toString(w[2])));
            }
        }
        args.add(Integer.toString(classes.size() / 4));
        args.addAll(classes);
        return args.toArray(String[]::new);
    }

    private static boolean lost(List<CompletableFuture<Long>> sent, int i) {
        return i >= sent.size() || !sent.get(i).isDone() || sent.get(i).isCompletedExceptionally();
    }

    /** Flushes every target now and waits for the answers at most {@code wait}. */
    void close(Duration wait) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (Target t : List.copyOf(counts.keySet())) {
            all.add(flush(t));
        }
        try {
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.warn("stats of completed calls not all recorded on close: {}", e.toString());
        }
    }
}
