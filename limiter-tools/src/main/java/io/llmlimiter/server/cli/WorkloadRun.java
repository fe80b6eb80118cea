package io.llmlimiter.server.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;

/**
 * Runs one workload to its end, in this JVM or across worker JVMs, with progress lines while it
 * runs: what the {@code workload} command and the demo's comparison share. This class is stateless
 * and thread-safe.
 */
public final class WorkloadRun {

    private static final Duration PROGRESS_EVERY = Duration.ofMillis(1500);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private WorkloadRun() {
    }

    /**
     * @param spec what each process runs
     * @param requests calls in the whole run
     * @param processes 1 to run in this JVM, more to spawn that many worker JVMs sharing the calls
     * @param theoreticalMinSeconds the fastest the provider's limits allow, or null
     * @param progress where progress lines go, or null for none
     * @param label the run's name in progress lines
     * @return the summary of the whole run
     * @throws IOException when a worker JVM fails
     * @throws InterruptedException when interrupted
     */
    public static Summary run(WorkloadSpec spec, long requests, int processes, Double theoreticalMinSeconds,
                              PrintWriter progress, String label) throws IOException, InterruptedException {
        if (processes == 1) {
            try (WorkloadRunner runner = new WorkloadRunner(spec)) {
                Tally tally = new Tally();
                try (Progress p = Progress.start(progress, label, requests, tally::snapshot, PROGRESS_EVERY)) {
                    return runner.run(requests, tally, theoreticalMinSeconds);
                }
            }
        }
        long[] shares = shares(requests, processes);
        try (WorkerFleet fleet = WorkerFleet.start(spec, shares)) {
            fleet.go(START_TIMEOUT);
            try (Progress p = Progress.start(progress, label, requests, fleet::progress, PROGRESS_EVERY)) {
                List<Summary> parts = fleet.results(runTimeout(theoreticalMinSeconds));
                return Summary.combine(parts, processes, fleet.wallSeconds(), theoreticalMinSeconds);
            }
        }
    }

    /**
     * @param requests calls in the whole run
     * @param processes processes sharing them
     * @return each process's share, differing by at most one
     */
    static long[] shares(long requests, int processes) {
        long[] out = new long[processes];
        for (int i = 0; i < processes; i++) {
            out[i] = requests / processes + (i < requests % processes ? 1 : 0);
        }
        return out;
    }

    private static Duration runTimeout(Double theoreticalMinSeconds) {
        if (theoreticalMinSeconds == null) {
            return Duration.ofDays(1);
        }
        return Duration.ofSeconds(Math.max(300, (long) (theoreticalMinSeconds * 10)));
    }
}
