package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;

/**
 * Throughput and latency of every system at each thread count, on budgets that never refuse:
 * Redis's floors first, then llm-limiter on one hot target and spread over ten, then Redisson
 * and Bucket4j. Each system gets one client instance for all its thread counts, and a fresh key
 * space for each. Not thread-safe.
 */
final class ThroughputPhase {

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

    /**
     * @param root where each system's object ({@code ops_N}, latencies at the fewest and the most
     *     threads, Redis CPU and commands per operation at the most threads) goes
     */
    void run(ObjectNode root) {
        String uri = endpoint.uri();
        List<Supplier<Contender>> systems = List.of(() -> ScriptContender.floor(uri),
                () -> ScriptContender.slidingLog(uri), () -> new LimiterContender(uri, 1),
                () -> new LimiterContender(uri, 10), () -> new RedissonRateContender(endpoint),
                () -> new RedissonSemaphoreContender(endpoint), () -> new Bucket4jContender(uri));
        BenchSettings s = ctx.settings();
        int fewest = Collections.min(s.threads());
        int most = Collections.max(s.threads());
        for (Supplier<Contender> system : systems) {
            try (Contender c = system.get()) {
                ObjectNode node = root.putObject(c.key());
                node.put("label", c.label());
                long errors = 0;
                for (int threads : s.threads()) {
                    String ns = ctx.namespace(c.key(), "t" + threads);
                    LoadRunner.Result r = ctx.measure(c, "throughput", c.label(), threads, s.warmup(), s.window(),
                            c.unlimited(ns), null);
                    node.put("ops_" + threads, PhaseContext.round(r.opsPerSecond()));
                    if (threads == fewest) {
                        node.put("p50_us", r.latency().p50());
                        node.put("p99_us", r.latency().p99());
                        node.put("p999_us", r.latency().p999());
                    }
                    if (threads == most) {
                        node.put("p50_us_" + threads, r.latency().p50());
                        node.put("p99_us_" + threads, r.latency().p99());
                        node.put("redis_cpu_us_per_op_" + threads, PhaseContext.round(r.cpuMicrosPerOp()));
                        node.put("redis_commands_per_op_" + threads,
                                PhaseContext.perOp(r.redis().totalCommands(), r.ops()));
                    }
                    errors += r.errors();
                    ctx.cleanUp(c.keyPattern(ns));
                }
                node.put("errors", errors);
            }
        }
    }
}
