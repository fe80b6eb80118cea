package io.llmlimiter.bench;

import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Latencies of one phase: one HdrHistogram per load thread (recording without locks or
 * coordination between threads), merged when the phase ends. Each thread may touch only its
 * own histogram; {@link #merged()} is called after the threads have finished.
 */
public final class LatencyRecorder {

    // One minute is far beyond any latency a phase can see; 3 digits keeps the error below 0.1 %.
    private static final long HIGHEST_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final Histogram[] perThread;

    /**
     * @param threads the number of load threads
     */
    public LatencyRecorder(int threads) {
        perThread = new Histogram[threads];
        for (int i = 0; i < threads; i++) {
            perThread[i] = new Histogram(HIGHEST_NANOS, 3);
        }
    }

    /**
     * Records one operation; call only from thread {@code thread}.
     *
     * @param thread the load thread's index
     * @param nanos how long the operation took
     */
    public void record(int thread, long nanos) {
        perThread[thread].recordValue(Math.min(Math.max(nanos, 0), HIGHEST_NANOS));
    }

    /** @return all threads' latencies together */
    public Summary merged() {
        Histogram all = new Histogram(HIGHEST_NANOS, 3);
        for (Histogram h : perThread) {
            all.add(h);
        }
        return new Summary(all.getTotalCount(), micros(all.getValueAtPercentile(50)),
                micros(all.getValueAtPercentile(99)), micros(all.getValueAtPercentile(99.9)),
                micros(all.getMaxValue()));
    }

    private static double micros(long nanos) {
        return Math.round(nanos / 100.0) / 10.0;
    }

    /**
     * Percentiles of a phase, in microseconds.
     *
     * @param count how many operations were recorded
     * @param p50 median
     * @param p99 99th percentile
     * @param p999 99.9th percentile
     * @param max the slowest
     */
    public record Summary(long count, double p50, double p99, double p999, double max) {
    }
}
