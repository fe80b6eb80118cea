package io.llmlimiter.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Runs one phase: {@code threads} threads repeat an {@link Contender.Op} back to back through a
 * warm-up and then a measured window. An operation counts when it <em>ends</em> inside the
 * window, so slow operations are neither lost nor double counted; its latency is recorded then.
 * Redis counters (and the proxy's round trips) are read at both edges of the window.
 */
public final class LoadRunner {

    private static final long JOIN_SECONDS = 60;

    private LoadRunner() {
    }

    /**
     * What one phase measured.
     *
     * @param threads load threads
     * @param seconds the measured window
     * @param ops operations that ended inside the window
     * @param errors operations that failed inside the window
     * @param firstError the first failure's message, or null
     * @param latency latencies of the counted operations
     * @param redis what Redis did during the window
     * @param roundTrips client commands the proxy saw during the window, or -1 when not counted
     */
    public record Result(int threads, double seconds, long ops, long errors, String firstError,
                         LatencyRecorder.Summary latency, RedisStats redis, long roundTrips) {

        /** @return operations per second */
        public double opsPerSecond() {
            return ops / seconds;
        }

        /** @return Redis CPU microseconds per operation */
        public double cpuMicrosPerOp() {
            return ops == 0 ? 0 : (double) redis.cpuMicros() / ops;
        }
    }

    /**
     * @param threads load threads
     * @param warmup how long to run before measuring
     * @param window how long to measure
     * @param op the operation
     * @param probe reads Redis's counters at the window's edges
     * @param roundTrips the proxy's command count, or null when not proxied
     * @return the measurement
     */
    public static Result run(int threads, Duration warmup, Duration window, Contender.Op op, RedisProbe probe,
                             LongSupplier roundTrips) {
        return run(threads, warmup, window, op, probe, roundTrips, null);
    }

    /**
     * {@link #run(int, Duration, Duration, Contender.Op, RedisProbe, LongSupplier)} with a reading
     * taken at both edges of the window, outside the Redis counters' span: just before they are
     * read when the window opens, just after when it closes, so its own commands are not counted.
     *
     * @param threads load threads
     * @param warmup how long to run before measuring
     * @param window how long to measure
     * @param op the operation
     * @param probe reads Redis's counters at the window's edges
     * @param roundTrips the proxy's command count, or null when not proxied
     * @param edges runs once as the window opens and once as it closes, or null
     * @return the measurement
     */
    public static Result run(int threads, Duration warmup, Duration window, Contender.Op op, RedisProbe probe,
                             LongSupplier roundTrips, Runnable edges) {
        LatencyRecorder latencies = new LatencyRecorder(threads);
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        long from = start + warmup.toNanos();
        long to = from + window.toNanos();
        LongAdder ops = new LongAdder();
        LongAdder errors = new LongAdder();
        AtomicReference<String> firstError = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            int index = i;
            Thread t = new Thread(() -> loop(index, op, from, to, latencies, ops, errors, firstError), "load-" + i);
            t.setDaemon(true);
            workers.add(t);
        }
        workers.forEach(Thread::start);
        sleepUntil(from);
        if (edges != null) {
            edges.run();
        }
        RedisStats before = probe.stats();
        long tripsBefore = roundTrips == null ? -1 : roundTrips.getAsLong();
        sleepUntil(to);
        RedisStats after = probe.stats();
        long tripsAfter = roundTrips == null ? -1 : roundTrips.getAsLong();
        if (edges != null) {
            edges.run();
        }
        join(workers);
        return new Result(threads, window.toNanos() / 1e9, ops.sum(), errors.sum(), firstError.get(),
                latencies.merged(), after.minus(before), roundTrips == null ? -1 : tripsAfter - tripsBefore);
    }

    private static void loop(int index, Contender.Op op, long from, long to, LatencyRecorder latencies,
                             LongAdder ops, LongAdder errors, AtomicReference<String> firstError) {
        while (true) {
            long began = System.nanoTime();
            if (began >= to) {
                break;
            }
            boolean ok = true;
            try {
                op.call(index);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Exception e) {
                ok = false;
                firstError.compareAndSet(null, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            long ended = System.nanoTime();
            if (ended >= from && ended < to) {
                if (ok) {
                    latencies.record(index, ended - began);
                    ops.increment();
                } else {
                    errors.increment();
                }
            }
        }
    }

    private static void join(List<Thread> workers) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(JOIN_SECONDS);
        for (Thread t : workers) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (t.isAlive()) {
                // A call stuck past the window must not hang the whole run.
                t.interrupt();
                try {
                    t.join(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    static void sleepUntil(long nanoTime) {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }
}
