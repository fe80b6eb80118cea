package io.llmlimiter.client.internal;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Where the limiter's user-visible work runs, and what {@code close()} must settle: the callback
 * executor (the user's, or a daemon pool owned here), the futures callers still wait on, and the
 * cleanups (leaving the line) worth letting finish before the connections close. This class is
 * thread-safe.
 */
final class Callbacks {

    private final Executor executor;
    private final ExecutorService owned;
    private final Set<CompletableFuture<?>> pending = ConcurrentHashMap.newKeySet();
    private final Set<CompletableFuture<?>> cleanups = ConcurrentHashMap.newKeySet();
    private final Supplier<RuntimeException> closedError;
    private volatile boolean closed;

    /**
     * @param executor the user's executor, or null for a pool owned (and shut down) here
     * @param closedError what pending and later futures fail with once closed
     */
    Callbacks(Executor executor, Supplier<RuntimeException> closedError) {
        this.owned = executor == null ? newPool() : null;
        this.executor = executor == null ? owned : executor;
        this.closedError = closedError;
    }

    /** Daemon threads, as many as needed: user code may block in them without starving the limiter. */
    private static ExecutorService newPool() {
        AtomicInteger n = new AtomicInteger();
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "llmlim-async-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    boolean closed() {
        return closed;
    }

    /**
     * Tracks a future a caller waits on until it is done, so {@link #close} can fail it.
     *
     * @return the future
     */
    <T> CompletableFuture<T> track(CompletableFuture<T> f) {
        pending.add(f);
        f.whenComplete((v, e) -> pending.remove(f));
        if (closed) {
            f.completeExceptionally(closedError.get());
        }
        return f;
    }

    /** Stops tracking a future that must complete with its value even when the limiter closes. */
    void untrack(CompletableFuture<?> f) {
        pending.remove(f);
    }

    /** Remembers cleanup work (leaving the line) that {@link #close} lets finish first. */
    void cleanup(CompletableFuture<?> f) {
        cleanups.add(f);
        f.whenComplete((v, e) -> cleanups.remove(f));
    }

    /**
     * Runs a step that completes a caller's future or calls user code on the callback executor,
     * never on a Redis I/O thread. An executor that rejects it (the owned pool after close, when
     * every pending future has failed already) gets it run here rather than a future left hanging.
     */
    void dispatch(Runnable step) {
        try {
            executor.execute(step);
        } catch (RejectedExecutionException e) {
            step.run();
        }
    }

    /** @return a future completed like {@code f}, on the callback executor */
    <T> CompletableFuture<T> hop(CompletableFuture<T> f) {
        CompletableFuture<T> out = new CompletableFuture<>();
        f.whenComplete((v, e) -> dispatch(() -> {
            if (e != null) {
                out.completeExceptionally(ScriptRunner.unwrap(e));
            } else {
                out.complete(v);
            }
        }));
        return out;
    }

    /**
     * Fails every pending future, then waits (at most {@code cleanupWait}) for the cleanups that
     * triggered. Later futures fail at once.
     */
    void close(Duration cleanupWait) {
        closed = true;
        for (CompletableFuture<?> f : List.copyOf(pending)) {
            f.completeExceptionally(closedError.get());
        }
        try {
            CompletableFuture.allOf(cleanups.toArray(CompletableFuture[]::new))
                    .get(cleanupWait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Tickets left behind lapse at their ticket TTL.
        }
    }

    /** Shuts the owned pool down; a user's executor is left alone. */
    void shutdown() {
        if (owned != null) {
            owned.shutdown();
        }
    }
}
