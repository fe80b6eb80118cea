package io.llmlimiter.server.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Prints a progress line at a fixed interval while a run goes on, e.g.
 * {@code [limiter] 57/120 done, 0 x 429, 9.8 s}. This class is thread-safe.
 */
public final class Progress implements AutoCloseable {

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "progress");
        t.setDaemon(true);
        return t;
    });
    private final PrintWriter out;
    private final String label;
    private final long total;
    private final Supplier<Tally.Snapshot> source;
    private final long startNanos = System.nanoTime();

    private Progress(PrintWriter out, String label, long total, Supplier<Tally.Snapshot> source) {
        this.out = out;
        this.label = label;
        this.total = total;
        this.source = source;
    }

    /**
     * Starts printing.
     *
     * @param out where to print, or null to print nothing
     * @param label the run's name, shown in brackets
     * @param total calls in the run
     * @param source the counters to show
     * @param every the interval
     * @return the running printer; close it when the run ends
     */
    public static Progress start(PrintWriter out, String label, long total, Supplier<Tally.Snapshot> source,
                                 Duration every) {
        Progress p = new Progress(out, label, total, source);
        if (out != null) {
            p.timer.scheduleAtFixedRate(p::print, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
        }
        return p;
    }

    /** @return the progress line for now */
    public String line() {
        Tally.Snapshot s = source.get();
        return String.format(Locale.ROOT, "[%s] %d/%d done, %d x 429, %.1f s", label, s.done(), total,
                s.provider429(), (System.nanoTime() - startNanos) / 1e9);
    }

    private void print() {
        out.println(line());
        out.flush();
    }

    /** Stops printing. */
    @Override
    public void close() {
        timer.shutdownNow();
    }
}
