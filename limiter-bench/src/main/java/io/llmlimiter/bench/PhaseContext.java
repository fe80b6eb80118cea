package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * What every phase of a run shares: the settings, the probe, the progress log, the run's id (the
 * prefix of every key it writes) and the list of every measurement taken. Not thread-safe.
 */
final class PhaseContext {

    private final BenchSettings settings;
    private final RedisProbe probe;
    private final PrintStream log;
    private final String run;
    private final ArrayNode phases = JsonNodeFactory.instance.arrayNode();

    /**
     * @param settings phase lengths and sizes
     * @param probe the bench's own connection to the Redis under test
     * @param log where progress goes
     * @param run the run's id
     */
    PhaseContext(BenchSettings settings, RedisProbe probe, PrintStream log, String run) {
        this.settings = settings;
        this.probe = probe;
        this.log = log;
        this.run = run;
    }

    /** @return phase lengths and sizes */
    BenchSettings settings() {
        return settings;
    }

    /** @return the bench's own connection to the Redis under test */
    RedisProbe probe() {
        return probe;
    }

    /** @return where progress goes */
    PrintStream log() {
        return log;
    }

    /** @return every measurement taken so far, in order */
    ArrayNode phases() {
        return phases;
    }

    /** @return a key-space name no other phase of any run uses */
    String namespace(String system, String what) {
        return run + "-" + system + "-" + what;
    }

    /** @return how many rounds each measurement runs (its median is reported): 3, 1 in smoke mode */
    int repeats() {
        return "smoke".equals(settings.mode()) ? 1 : 3;
    }

    /** Runs a system without recording anything: the run's one warm-up (JIT, pools, scripts loaded). */
    void warmUp(Contender c, int threads, Duration length, Contender.Op op) {
        LoadRunner.Result r = LoadRunner.run(threads, Duration.ZERO, length, op, probe, null);
        log.printf("%-58s %3d thr warm-up, %.0f ops/s%n", c.label(), threads, r.opsPerSecond());
    }

    /** Runs one measurement, prints it and keeps it in {@link #phases()}. */
    LoadRunner.Result measure(Contender c, String kind, String label, int threads, Duration warmup, Duration window,
                              Contender.Op op, LongSupplier roundTrips) {
        return measure(c, kind, label, threads, warmup, window, op, roundTrips, null);
    }

    /**
     * Runs one measurement with a reading at both edges of its window (see
     * {@link LoadRunner#run(int, Duration, Duration, Contender.Op, RedisProbe, LongSupplier, Runnable)}),
     * prints it and keeps it in {@link #phases()}.
     */
    LoadRunner.Result measure(Contender c, String kind, String label, int threads, Duration warmup, Duration window,
                              Contender.Op op, LongSupplier roundTrips, Runnable edges) {
        LoadRunner.Result r = LoadRunner.run(threads, warmup, window, op, probe, roundTrips, edges);
        log.printf("%-58s %3d thr %10.0f ops/s  p50 %8.1f us  p99 %9.1f us  cpu %7.1f us/op%s%n", label, threads,
                r.opsPerSecond(), r.latency().p50(), r.latency().p99(), r.cpuMicrosPerOp(),
                r.errors() > 0 ? "  errors " + r.errors() + " (" + r.firstError() + ")" : "");
        ObjectNode p = phases.addObject();
        p.put("system", c.key());
        p.put("kind", kind);
        p.put("threads", threads);
        p.put("seconds", r.seconds());
        p.put("ops", r.ops());
        p.put("ops_per_s", round(r.opsPerSecond()));
        p.put("errors", r.errors());
        if (r.firstError() != null) {
            p.put("first_error", r.firstError());
        }
        p.put("p50_us", r.latency().p50());
        p.put("p99_us", r.latency().p99());
        p.put("p999_us", r.latency().p999());
        p.put("max_us", r.latency().max());
        p.put("redis_cpu_us_per_op", round(r.cpuMicrosPerOp()));
        p.put("redis_cpu_sys_us_per_op", round((double) r.redis().sysMicros() / Math.max(1, r.ops())));
        p.put("redis_commands_per_op", perOp(r.redis().totalCommands(), r.ops()));
        if (r.roundTrips() >= 0) {
            p.put("round_trips_per_op", perOp(r.roundTrips(), r.ops()));
        }
        ArrayNode busiest = p.putArray("busiest_commands");
        for (RedisStats.Command cmd : r.redis().busiest(12)) {
            busiest.addObject().put("command", cmd.name()).put("calls_per_op", perOp(cmd.calls(), r.ops()))
                    .put("us_per_op", perOp(cmd.micros(), r.ops()));
        }
        return r;
    }

    /** Removes a phase's keys, then lets Redis settle (lazy frees, expiry cycles) before the next one. */
    void cleanUp(String pattern) {
        probe.delete(pattern);
        LoadRunner.sleepUntil(System.nanoTime() + settings.settle().toNanos());
    }

    /** @return amount / ops to two decimals, 0 when nothing was done */
    static double perOp(long amount, long ops) {
        return ops == 0 ? 0 : Math.round(100.0 * amount / ops) / 100.0;
    }

    /** @return v to one decimal */
    static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
