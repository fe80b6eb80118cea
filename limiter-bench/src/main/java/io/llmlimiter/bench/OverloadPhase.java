package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Overload: many callers against a budget far below their demand, each system waiting with its
 * own blocking wait. Measured directly against Redis: admitted calls per second (which must equal
 * the budget) and Redis CPU per admitted call. Then, in a shorter second pass with the clients
 * connected through a {@link CountingProxy}, client round trips per admitted call; the proxy's
 * extra hop never touches the first measurement. Not thread-safe.
 */
final class OverloadPhase {

    private final PhaseContext ctx;
    private final RedisEndpoint endpoint;

    /**
     * @param ctx the run's shared state
     * @param endpoint the Redis under test
     */
    OverloadPhase(PhaseContext ctx, RedisEndpoint endpoint) {
        this.ctx = ctx;
        this.endpoint = endpoint;
    }

    /**
     * @param root where the {@code overload} object goes
     * @throws IOException when the proxy cannot listen
     */
    void run(ObjectNode root) throws IOException {
        BenchSettings s = ctx.settings();
        ObjectNode node = root.putObject("overload");
        node.put("budget_per_s", s.budget());
        node.put("threads", s.overloadThreads());
        node.put("window_s", s.overloadWindow().toSeconds());
        node.put("round_trip_window_s", s.roundTripWindow().toMillis() / 1000.0);
        List<Function<RedisEndpoint, Contender>> systems = List.of(e -> new LimiterContender(e.uri(), 1),
                RedissonRateContender::new, e -> new Bucket4jContender(e.uri()));
        // Interleaved rounds: each system once per round, each round starting one system later; the
        // round with the median Redis CPU per admitted call is reported (all rounds are in "phases").
        java.util.Map<Integer, java.util.List<Object[]>> byIndex = new java.util.HashMap<>();
        for (int round = 0; round < ctx.repeats(); round++) {
            for (int i = 0; i < systems.size(); i++) {
                int index = (i + round) % systems.size();
                try (Contender c = systems.get(index).apply(endpoint)) {
                    String ns = ctx.namespace(c.key(), "overload-r" + round);
                    LoadRunner.Result r = ctx.measure(c, "overload", c.blockingLabel(), s.overloadThreads(),
                            s.overloadWarmup(), s.overloadWindow(), c.overloaded(ns, s.budget()), null);
                    byIndex.computeIfAbsent(index, k -> new java.util.ArrayList<>())
                            .add(new Object[] {r, c.counters(ns), c.key(), c.blockingLabel()});
                    ctx.cleanUp(c.keyPattern(ns));
                }
            }
        }
        for (int index = 0; index < systems.size(); index++) {
            java.util.List<Object[]> rounds = new java.util.ArrayList<>(byIndex.get(index));
            rounds.sort(java.util.Comparator.comparingDouble(o -> ((LoadRunner.Result) o[0]).cpuMicrosPerOp()));
            Object[] median = rounds.get(rounds.size() / 2);
            @SuppressWarnings("unchecked")
            Map<String, Long> counters = (Map<String, Long>) median[1];
            ObjectNode n = node.putObject((String) median[2]);
            record(n, (String) median[3], (LoadRunner.Result) median[0], counters, s.budget());
            com.fasterxml.jackson.databind.node.ArrayNode cpu = n.putArray("redis_cpu_us_per_admit_rounds");
            for (Object[] o : byIndex.get(index)) {
                cpu.add(PhaseContext.round(((LoadRunner.Result) o[0]).cpuMicrosPerOp()));
            }
        }
        // TLS hides the commands from the proxy; then round trips are not reported.
        try (CountingProxy proxy = endpoint.tls() ? null : new CountingProxy(endpoint)) {
            for (Function<RedisEndpoint, Contender> system : systems) {
                if (proxy != null) {
                    try (Contender c = system.apply(proxy.endpoint())) {
                        String ns = ctx.namespace(c.key(), "overload-proxied");
                        Duration warmup = s.overloadWarmup().compareTo(Duration.ofSeconds(1)) < 0
                                ? s.overloadWarmup() : Duration.ofSeconds(1);
                        LoadRunner.Result r = ctx.measure(c, "overload-proxied", c.blockingLabel() + " via proxy",
                                s.overloadThreads(), warmup, s.roundTripWindow(), c.overloaded(ns, s.budget()),
                                proxy::commands);
                        ((ObjectNode) node.get(c.key())).put("round_trips_per_admit",
                                PhaseContext.perOp(r.roundTrips(), r.ops()));
                        ctx.cleanUp(c.keyPattern(ns));
                    }
                }
            }
        }
    }

    /**
     * Writes one overload measurement: admitted per second and against the budget, Redis CPU,
     * commands and script round trips per admitted call, waits, and the system's own counters.
     *
     * @param s where it goes
     * @param label what was measured
     * @param r the measurement
     * @param counters the system's counters over the whole phase, or none
     * @param budget the budget, calls per second
     */
    static void record(ObjectNode s, String label, LoadRunner.Result r, Map<String, Long> counters, double budget) {
        s.put("label", label);
        s.put("admitted", r.ops());
        s.put("admitted_per_s", PhaseContext.round(r.opsPerSecond()));
        s.put("admitted_vs_budget", Math.round(1000 * r.opsPerSecond() / budget) / 1000.0);
        s.put("redis_cpu_us_per_admit", PhaseContext.round(r.cpuMicrosPerOp()));
        s.put("redis_cpu_sys_us_per_admit", PhaseContext.round((double) r.redis().sysMicros() / Math.max(1, r.ops())));
        s.put("redis_commands_per_admit", PhaseContext.perOp(r.redis().totalCommands(), r.ops()));
        // Scripts cannot run scripts, so every EVAL/EVALSHA is a client round trip: an exact count
        // from this (unproxied) pass, though it misses a client's plain commands (Bucket4j's GET).
        long scripts = 0;
        for (RedisStats.Command cmd : r.redis().commands().values()) {
            if (cmd.name().equals("evalsha") || cmd.name().equals("eval")) {
                scripts += cmd.calls();
            }
        }
        s.put("script_round_trips_per_admit", PhaseContext.perOp(scripts, r.ops()));
        s.put("wait_p50_us", r.latency().p50());
        s.put("wait_p99_us", r.latency().p99());
        s.put("errors", r.errors());
        if (!counters.isEmpty()) {
            // Over the whole phase (warm-up and drain included): what one admit costs in script calls.
            ObjectNode k = s.putObject("counters_per_admit");
            long admitted = Math.max(1, counters.getOrDefault("admitted", 1L));
            counters.forEach((name, v) -> {
                if (name.equals("admitted") || name.equals("completed") || name.startsWith("refused_")) {
                    k.put(name, PhaseContext.perOp(v, admitted));
                }
            });
        }
    }
}
