package io.llmlimiter.bench;

import java.time.Duration;
import java.util.List;

/**
 * How long and how large each phase of a run is. Immutable.
 *
 * @param mode {@code default}, {@code quick} or {@code smoke}
 * @param threads the thread counts of the throughput phases
 * @param warmup run time before each throughput measurement
 * @param window each throughput measurement
 * @param overloadThreads blocking callers in the overload phases
 * @param budget the overload budget, calls per second
 * @param overloadWarmup run time before each overload measurement (past the first burst)
 * @param overloadWindow each overload measurement, whole seconds: a sliding log admits in bursts
 *     that repeat every window length (1 s), so only whole periods count them exactly
 * @param roundTripWindow the shorter second overload pass, through the counting proxy
 * @param settle pause between phases, after the previous phase's keys are removed
 * @param memoryRequests requests held in window for the memory phase
 */
public record BenchSettings(String mode, List<Integer> threads, Duration warmup, Duration window,
                            int overloadThreads, int budget, Duration overloadWarmup, Duration overloadWindow,
                            Duration roundTripWindow, Duration settle, int memoryRequests) {

    /** Validates the settings. */
    public BenchSettings {
        threads = List.copyOf(threads);
        if (threads.isEmpty() || threads.stream().anyMatch(t -> t < 1 || t > 1024)) {
            throw new IllegalArgumentException("thread counts must be 1 to 1024, got " + threads);
        }
        if (overloadWindow.toMillis() % 1000 != 0 || overloadWindow.isZero()) {
            throw new IllegalArgumentException("the overload window must be whole seconds, got " + overloadWindow);
        }
        if (budget < 1 || overloadThreads < 1 || memoryRequests < 1) {
            throw new IllegalArgumentException("budget, overload threads and memory requests must be positive");
        }
    }

    /**
     * @param mode {@code default}, {@code quick} or {@code smoke}
     * @return that mode's settings: 1, 16 and 64 threads, and a budget of 500/s for 64 callers, except
     *     {@code smoke}, whose budget is 100/s. llm-limiter hands its waiting line on one admission at
     *     a time (admit, then wake the next in line over pub/sub); on a CPU-starved CI machine a
     *     hand-off can take more than the 2 ms that 500/s leaves it, and the check that admissions
     *     match the budget would measure the machine instead of the behaviour (see the README).
     */
    public static BenchSettings of(String mode) {
        List<Integer> threads = List.of(1, 16, 64);
        return switch (mode) {
            case "default" -> new BenchSettings(mode, threads, Duration.ofSeconds(2), Duration.ofSeconds(5), 64, 500,
                    Duration.ofSeconds(2), Duration.ofSeconds(10), Duration.ofSeconds(3), Duration.ofSeconds(1), 10_000);
            case "quick" -> new BenchSettings(mode, threads, Duration.ofMillis(500), Duration.ofSeconds(2), 64, 500,
                    Duration.ofMillis(1500), Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofMillis(300),
                    10_000);
            case "smoke" -> new BenchSettings(mode, threads, Duration.ofMillis(200), Duration.ofMillis(600), 64, 100,
                    Duration.ofMillis(1200), Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofMillis(100), 100);
            default -> throw new IllegalArgumentException("unknown mode " + mode);
        };
    }
}
