package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Scale: many waiting callers spread over {@link #JVMS} JVMs on one target with a budget of
 * {@link #BUDGET}/s, first 64 callers, then 2,000. Redis's work should follow the admissions,
 * not the waiters: reports Redis CPU and commands per admission at both sizes and their ratio.
 * Each JVM runs {@link ScaleWorker} (async callers, no thread each). Not thread-safe.
 */
final class ScalePhase {

    static final int JVMS = 4;
    static final int BUDGET = 100;

    private final PhaseContext ctx;
    private final RedisEndpoint endpoint;

    ScalePhase(PhaseContext ctx, RedisEndpoint endpoint) {
        this.ctx = ctx;
        this.endpoint = endpoint;
    }

    /**
     * @param root where the {@code scale} object goes
     * @throws Exception when a worker JVM cannot start
     */
    void run(ObjectNode root) throws Exception {
        ObjectNode node = root.putObject("scale");
        node.put("jvms", JVMS);
        node.put("budget_per_s", BUDGET);
        boolean smoke = "smoke".equals(ctx.settings().mode());
        int[] sizes = smoke ? new int[] {64, 400} : new int[] {64, 2000};
        for (int callers : sizes) {
            node.set("callers_" + callers, measure(callers));
        }
        double small = node.path("callers_" + sizes[0]).path("redis_cpu_us_per_admit").asDouble();
        double large = node.path("callers_" + sizes[1]).path("redis_cpu_us_per_admit").asDouble();
        if (small > 0) {
            node.put("cpu_per_admit_large_vs_small", Math.round(1000 * large / small) / 1000.0);
        }
        node.put("large", sizes[1]);
        node.put("small", sizes[0]);
    }

    private ObjectNode measure(int callers) throws Exception {
        BenchSettings s = ctx.settings();
        String ns = ctx.namespace("scale", "c" + callers);
        Target target = LimiterContender.target(ns, 0);
        try (LlmLimiter admin = LlmLimiter.builder().redis(endpoint.uri()).build()) {
            admin.admin().putConfig(LimitConfig.builder(target).limits("requests=" + BUDGET + "/1s")
                    .maxConcurrent(0)
                    .deliveryMargin(Duration.ZERO).build());
        }
        long warm = Math.max(2000, s.overloadWarmup().toMillis());
        // The workers run until they are stopped after the measurement (or for two minutes at most).
        long end = System.currentTimeMillis() + 120_000;
        List<Process> jvms = new ArrayList<>();
        List<Path> outs = new ArrayList<>();
        ObjectNode out = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        try {
            for (int i = 0; i < JVMS; i++) {
                Path log = Files.createTempFile("scale-worker", ".log");
                outs.add(log);
                int share = callers / JVMS + (i < callers % JVMS ? 1 : 0);
                jvms.add(new ProcessBuilder(javaBin(), "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                        ScaleWorker.class.getName(), endpoint.uri(), target.toString(), Integer.toString(share),
                        Long.toString(end)).redirectErrorStream(true).redirectOutput(log.toFile()).start());
            }
            // Warm-up starts once every JVM has all its callers waiting, however slowly the JVMs started.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (Path log : outs) {
                while (!Files.readString(log, StandardCharsets.UTF_8).contains("STARTED")) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("a scale worker did not start: " + Files.readString(log));
                    }
                    Thread.sleep(100);
                }
            }
            long measureFrom = System.currentTimeMillis() + warm;
            long measureTo = measureFrom + s.overloadWindow().toMillis();
            LoadRunner.sleepUntil(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(
                    Math.max(0, measureFrom - System.currentTimeMillis())));
            Map<String, Long> before = ctx.probe().hash("llmlim:{" + target + "}:stats");
            RedisStats a = ctx.probe().stats();
            LoadRunner.sleepUntil(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(
                    Math.max(0, measureTo - System.currentTimeMillis())));
            RedisStats b = ctx.probe().stats();
            Map<String, Long> after = ctx.probe().hash("llmlim:{" + target + "}:stats");
            long admitted = after.getOrDefault("admitted", 0L) - before.getOrDefault("admitted", 0L);
            RedisStats d = b.minus(a);
            double seconds = (measureTo - measureFrom) / 1000.0;
            out.put("callers", callers);
            out.put("admitted", admitted);
            out.put("admitted_per_s", PhaseContext.round(admitted / seconds));
            out.put("redis_cpu_us_per_admit", PhaseContext.round((double) d.cpuMicros() / Math.max(1, admitted)));
            out.put("redis_commands_per_admit", PhaseContext.perOp(d.totalCommands(), admitted));
            long scripts = 0;
            for (RedisStats.Command cmd : d.commands().values()) {
                if (cmd.name().equals("evalsha") || cmd.name().equals("eval")) {
                    scripts += cmd.calls();
                }
            }
            out.put("script_calls_per_admit", PhaseContext.perOp(scripts, admitted));
            ctx.log().printf("scale %5d callers on %d JVMs: %6.1f admitted/s, %7.1f us Redis CPU per admit, "
                            + "%5.2f commands per admit%n", callers, JVMS, admitted / seconds,
                    out.path("redis_cpu_us_per_admit").asDouble(), out.path("redis_commands_per_admit").asDouble());
        } finally {
            for (Process p : jvms) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            for (Path o : outs) {
                Files.deleteIfExists(o);
            }
            ctx.cleanUp("llmlim:{bench/" + ns + ".*");
        }
        return out;
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java" + (File.separatorChar == '\\' ? ".exe" : ""))
                .toString();
    }

}
