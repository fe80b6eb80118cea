package io.llmlimiter.client.internal;

import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.Target;
import io.llmlimiter.scripts.LuaScript;
import io.llmlimiter.client.Usage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stats counters of completions that need no script (a lease-free admission under {@code keep}
 * accounting, its usage within the estimate): added up here and flushed at most once a second per
 * target, one pipelined {@code HINCRBY} per counter, and on close. A flush that fails is added back
 * and sent with the next one; after {@link RedisLimiter#BACKGROUND_TRIES} failed flushes in a row
 * the counts are logged at WARN and metered as lost. The counter names are the ones
 * {@code complete.lua} bumps. This class is thread-safe.
 */
final class StatsBatcher {

    private static final Logger log = LoggerFactory.getLogger(StatsBatcher.class);
    private static final long FLUSH_MILLIS = 1000;

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
        int failedFlushes;

        boolean empty() {
            return completed == 0 && input == 0 && output == 0 && cached == 0 && estimated == 0 && cost == 0;
        }
    }

    /** A completion that needs no script: its counters are added here. */
    void completed(Target target, long estimatedTokens, Usage usage) {
        completed(target, estimatedTokens, usage, 0);
    }

    /** @param costMicros the call's cost in micro-dollars (0: none known) */
    void completed(Target target, long estimatedTokens, Usage usage, long costMicros) {
        Counts c = counts.computeIfAbsent(target, t -> new Counts());
        synchronized (c) {
            c.completed++;
            c.cost += Math.max(0, costMicros);
            c.estimated += estimatedTokens;
            if (usage != null) {
                c.input += usage.inputTokens();
                c.output += usage.outputTokens();
                c.cached += Math.max(0, usage.cacheReadTokens());
            }
        }
        if (!scheduled) {
            synchronized (this) {
                if (!scheduled) {
                    scheduled = limiter.schedule(this::flushAll, FLUSH_MILLIS, TimeUnit.MILLISECONDS) != null;
                }
            }
        }
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
            synchronized (this) {
                if (!scheduled) {
                    scheduled = limiter.schedule(this::flushAll, FLUSH_MILLIS, TimeUnit.MILLISECONDS) != null;
                }
            }
        }
    }

    /**
     * Sends what the target added up; a failed send is added back.
     *
     * @return completes (never exceptionally) once the counters were sent or added back; stats read
     *     after it include every completion of this client so far
     */
    CompletableFuture<Void> flush(Target target) {
        Counts c = counts.get(target);
        if (c == null) {
            return CompletableFuture.completedFuture(null);
        }
        long completed;
        long input;
        long output;
        long cached;
        long estimated;
        long cost;
        synchronized (c) {
            if (c.empty()) {
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
        }
        String key = Keys.of(target).stats();
        List<CompletableFuture<Long>> sent = new ArrayList<>();
        try {
            var commands = limiter.scripts().commands();
            sent.add(commands.hincrby(key, "completed", completed).toCompletableFuture());
            sent.add(commands.hincrby(key, "estimated_tokens", estimated).toCompletableFuture());
            if (input != 0) {
                sent.add(commands.hincrby(key, "actual_input_tokens", input).toCompletableFuture());
            }
            if (output != 0) {
                sent.add(commands.hincrby(key, "actual_output_tokens", output).toCompletableFuture());
            }
            if (cached != 0) {
                sent.add(commands.hincrby(key, "cache_read_tokens", cached).toCompletableFuture());
            }
            if (cost != 0) {
                sent.add(limiter.scripts().<Long>run(LuaScript.SPEND, ScriptOutputType.INTEGER, Keys.of(target),
                        Long.toString(cost), ""));
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
            // Which HINCRBY ran is known from its own future: only the ones that failed are added back.
            synchronized (c) {
                int i = 0;
                if (failed(sent.get(i++))) {
                    c.completed += completed;
                }
                if (failed(sent.get(i++))) {
                    c.estimated += estimated;
                }
                if (input != 0 && failed(sent.get(i++))) {
                    c.input += input;
                }
                if (output != 0 && failed(sent.get(i++))) {
                    c.output += output;
                }
                // A send that threw left the later counters unsent: those are added back too.
                if (cached != 0 && (i >= sent.size() || failed(sent.get(i++)))) {
                    c.cached += cached;
                }
                if (cost != 0 && (i >= sent.size() || failed(sent.get(i)))) {
                    c.cost += cost;
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
                    c.failedFlushes = 0;
                }
            }
            return null;
        });
    }

    private static boolean failed(CompletableFuture<?> f) {
        return !f.isDone() || f.isCompletedExceptionally();
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
