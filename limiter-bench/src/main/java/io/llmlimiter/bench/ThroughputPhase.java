package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Throughput and latency of every system at each thread count, on budgets that never refuse:
 * Redis's floors, llm-limiter on one hot target, spread over ten and round-robin over 1,000
 * targets, then Redisson and Bucket4j. One global warm-up runs every system once; then the systems
 * are measured in interleaved order ({@link PhaseContext#repeats()} rounds, each starting one
 * system later), and each figure reported is the median of its rounds. Each measurement gets a
 * fresh client and key space. Not thread-safe.
 */
final class ThroughputPhase {

    /** Threads start and connections open before each measurement; the JIT is warm from the global warm-up. */
    static final Duration RAMP = Duration.ofMillis(200);

    private final PhaseContext ctx;
    private final RedisEndpoint endpoint;

    /**
     * @param ctx the run's shared state
     * @param endpoint the Redis under test
     */
    ThroughputPhase(PhaseContext ctx, RedisEndpoint endpoint) {
        this.ctx = ctx;
        this.endpoint = endpoint;
    }

    /** A system: how to build it, and its key (known before it is built). */
    private record System(String key, java.util.function.Supplier<Contender> build) {
    }

    /**
     * @param root where each system's object ({@code ops_N}, latencies at the fewest and the most
     *     threads, Redis CPU and commands per operation at the most threads; medians of the rounds)
     *     goes
     */
    void run(ObjectNode root) {
        String uri = endpoint.uri();
        List<System> systems = List.of(new System("floor", () -> ScriptContender.floor(uri)),
                new System("sliding_log", () -> ScriptContender.slidingLog(uri)),
                new System("limiter", () -> new LimiterContender(uri, 1)),
                new System("limiter_10_targets", () -> new LimiterContender(uri, 10)),
                new System("limiter_1000_targets", () -> new LimiterContender(uri, 1000)),
                new System("redisson", () -> new RedissonRateContender(endpoint)),
                new System("redisson_semaphore", () -> new RedissonSemaphoreContender(endpoint)),
                new System("bucket4j", () -> new Bucket4jContender(uri)));
        BenchSettings s = ctx.settings();
        int fewest = Collections.min(s.threads());
        int most = Collections.max(s.threads());
        for (System system : systems) {
            try (Contender c = system.build().get()) {
                String ns = ctx.namespace(c.key(), "warmup");
                ctx.warmUp(c, most, s.warmup(), c.unlimited(ns));
                ctx.cleanUp(c.keyPattern(ns));
            }
        }
        Map<String, Map<Integer, List<LoadRunner.Result>>> results = new LinkedHashMap<>();
        Map<String, String> labels = new LinkedHashMap<>();
        for (int round = 0; round < ctx.repeats(); round++) {
            for (int i = 0; i < systems.size(); i++) {
                System system = systems.get((i + round) % systems.size());
                for (int threads : s.threads()) {
                    try (Contender c = system.build().get()) {
                        labels.put(c.key(), c.label());
                        String ns = ctx.namespace(c.key(), "t" + threads + "r" + round);
                        LoadRunner.Result r = ctx.measure(c, "throughput", c.label(), threads, RAMP, s.window(),
                                c.unlimited(ns), null);
                        results.computeIfAbsent(c.key(), k -> new LinkedHashMap<>())
                                .computeIfAbsent(threads, k -> new ArrayList<>()).add(r);
                        ctx.cleanUp(c.keyPattern(ns));
                    }
                }
            }
        }
        for (System system : systems) {
            Map<Integer, List<LoadRunner.Result>> byThreads = results.get(system.key());
            ObjectNode node = root.putObject(system.key());
            node.put("label", labels.get(system.key()));
            node.put("rounds", ctx.repeats());
            long errors = 0;
            for (int threads : s.threads()) {
                List<LoadRunner.Result> rs = byThreads.get(threads);
                node.put("ops_" + threads, PhaseContext.round(median(rs, LoadRunner.Result::opsPerSecond)));
                if (threads == fewest) {
                    node.put("p50_us", median(rs, r -> r.latency().p50()));
                    node.put("p99_us", median(rs, r -> r.latency().p99()));
                    node.put("p999_us", median(rs, r -> r.latency().p999()));
                }
                if (threads == most) {
                    node.put("p50_us_" + threads, median(rs, r -> r.latency().p50()));
                    node.put("p99_us_" + threads, median(rs, r -> r.latency().p99()));
                    node.put("redis_cpu_us_per_op_" + threads,
                            PhaseContext.round(median(rs, LoadRunner.Result::cpuMicrosPerOp)));
                    node.put("redis_commands_per_op_" + threads, Math.round(100 * median(rs,
                            r -> (double) r.redis().totalCommands() / Math.max(1, r.ops()))) / 100.0);
                }
                for (LoadRunner.Result r : rs) {
                    errors += r.errors();
                }
            }
            node.put("errors", errors);
        }
    }

    /** @return the median of the rounds' values (the middle one; the mean of the two middle ones) */
    static double median(List<LoadRunner.Result> results, ToDoubleFunction<LoadRunner.Result> value) {
        double[] v = results.stream().mapToDouble(value).sorted().toArray();
        if (v.length == 0) {
            return 0;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
