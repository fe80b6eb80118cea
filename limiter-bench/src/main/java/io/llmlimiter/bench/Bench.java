package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One run of every phase, in order, on one Redis: throughput and latency of each system
 * ({@link ThroughputPhase}), overload with blocking waits ({@link OverloadPhase}), the same on a
 * target shared fairly among tenants ({@link TenantsPhase}), waiting callers over several JVMs
 * ({@link ScalePhase}), then memory ({@link MemoryPhase}), scripts and the admin server. Systems
 * run one after another, each on a key space of its own that is removed before the next phase,
 * after which Redis is left to settle. The result is one JSON tree (rendered by {@link Report}).
 * Not thread-safe; run once.
 */
public final class Bench {

    private final BenchSettings settings;
    private final RedisEndpoint endpoint;
    private final PrintStream log;
    private final String run = "b" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
    private final ObjectNode root = JsonNodeFactory.instance.objectNode();

    /**
     * @param settings phase lengths and sizes
     * @param endpoint the Redis under test
     * @param log where progress goes (stderr), one line per measurement
     */
    public Bench(BenchSettings settings, RedisEndpoint endpoint, PrintStream log) {
        this.settings = settings;
        this.endpoint = endpoint;
        this.log = log;
    }

    /**
     * @param startedByBench whether the bench started the Redis itself
     * @return the results: one object per system, {@code overload}, {@code memory}, {@code ratios},
     *     {@code targets}, {@code env}, {@code settings} and every measurement under {@code phases}
     * @throws Exception when a phase cannot be set up
     */
    public ObjectNode run(boolean startedByBench) throws Exception {
        try (RedisProbe probe = new RedisProbe(endpoint.uri())) {
            PhaseContext ctx = new PhaseContext(settings, probe, log, run);
            env(probe, startedByBench);
            new ThroughputPhase(ctx, endpoint).run(root);
            new OverloadPhase(ctx, endpoint).run(root);
            new TenantsPhase(ctx, endpoint).run(root);
            new ScalePhase(ctx, endpoint).run(root);
            memory(ctx);
            scripts(ctx);
            server(ctx);
            probe.delete("llmlim:{bench/" + run + "-*");
            probe.delete("*bench:" + run + "-*");
            ((ObjectNode) root.get("env")).put("load_average_end", loadAverage());
            root.set("phases", ctx.phases());
        }
        Targets.evaluate(root);
        return root;
    }

    /**
     * Runs only the scripts phase (Redis time per script call as the window grows).
     *
     * @return the results: {@code scripts}, {@code env} and {@code settings}
     */
    public ObjectNode runScripts() throws Exception {
        return runOnly("scripts");
    }

    /**
     * Runs one phase only: {@code scripts}, {@code memory}, {@code server}, {@code scale}, {@code overload}
     * or {@code tenants}.
     *
     * @param phase the phase
     * @return the results: the phase's node, {@code env} and {@code settings}
     * @throws Exception when the phase cannot be set up
     */
    public ObjectNode runOnly(String phase) throws Exception {
        try (RedisProbe probe = new RedisProbe(endpoint.uri())) {
            PhaseContext ctx = new PhaseContext(settings, probe, log, run);
            env(probe, false);
            if ("memory".equals(phase)) {
                memory(ctx);
            } else if ("server".equals(phase)) {
                server(ctx);
            } else if ("scale".equals(phase)) {
                new ScalePhase(ctx, endpoint).run(root);
            } else if ("overload".equals(phase)) {
                new OverloadPhase(ctx, endpoint).run(root);
                root.set("phases", ctx.phases());
            } else if ("tenants".equals(phase)) {
                new TenantsPhase(ctx, endpoint).run(root);
                root.set("phases", ctx.phases());
            } else {
                scripts(ctx);
            }
            probe.delete("llmlim:{bench/" + run + "-*");
            probe.delete("*bench:" + run + "-*");
        }
        return root;
    }

    private void scripts(PhaseContext ctx) {
        boolean smoke = "smoke".equals(settings.mode());
        int[] sizes = smoke ? new int[] {1_000, 10_000} : new int[] {1_000, 10_000, 100_000, 300_000};
        new ScriptsPhase(ctx, log, endpoint.uri(), sizes, smoke ? 50 : 200).run(root);
    }

    /** The admin server's /metrics and /api/v1/stats at 1,000 targets (100 in smoke mode). */
    private void server(PhaseContext ctx) throws Exception {
        boolean smoke = "smoke".equals(settings.mode());
        root.set("server", new ServerPhase(log, endpoint.uri(), smoke ? 100 : 1000, smoke ? 3 : 15)
                .run(ctx.namespace("limiter", "server")));
    }

    /** @return the run's id, the prefix of every key it writes */
    public String runId() {
        return run;
    }

    private void memory(PhaseContext ctx) throws Exception {
        ObjectNode node = root.putObject("memory");
        MemoryPhase phase = new MemoryPhase(ctx.probe(), settings.memoryRequests());
        String ns = ctx.namespace("memory", "window");
        try (LimiterContender c = new LimiterContender(endpoint.uri(), 1)) {
            node.set("limiter", phase.limiter(c, ns));
            ctx.cleanUp(c.keyPattern(ns));
        }
        try (RedissonRateContender c = new RedissonRateContender(endpoint)) {
            node.set("redisson", phase.redisson(c, ns));
            ctx.cleanUp(c.keyPattern(ns));
        }
        try (Bucket4jContender c = new Bucket4jContender(endpoint.uri())) {
            node.set("bucket4j", phase.bucket4j(c, ns));
            ctx.cleanUp(c.keyPattern(ns));
        }
        log.printf("memory per in-window request: llm-limiter %.1f bytes, Redisson %.1f bytes (%d requests)%n",
                node.path("limiter").path("bytes_per_request").asDouble(),
                node.path("redisson").path("bytes_per_permit").asDouble(), settings.memoryRequests());
    }

    private void env(RedisProbe probe, boolean startedByBench) {
        Map<String, String> server = probe.server();
        ObjectNode env = root.putObject("env");
        env.put("started_at", Instant.now().toString());
        env.put("mode", settings.mode());
        env.put("redis_version", server.getOrDefault("redis_version", "?"));
        env.put("redis_uri", endpoint.redacted());
        env.put("redis_started_by_bench", startedByBench);
        env.put("cpus", Runtime.getRuntime().availableProcessors());
        // Other load on the machine skews absolute numbers (ratios less so): say how busy it was.
        env.put("load_average_start", loadAverage());
        env.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        env.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        env.put("lettuce", version("io.lettuce", "lettuce-core"));
        env.put("redisson", version("org.redisson", "redisson"));
        env.put("bucket4j", version("com.bucket4j", "bucket4j_jdk17-core"));
        ObjectNode pools = env.putObject("redisson_defaults");
        Redissons.defaults().forEach((k, v) -> pools.put(k, v.toString()));
        env.put("total_commands_processed_counts_script_calls", probe.scriptCallsCounted());
        ObjectNode s = root.putObject("settings");
        s.put("threads", settings.threads().toString());
        s.put("warmup_s", settings.warmup().toMillis() / 1000.0);
        s.put("window_s", settings.window().toMillis() / 1000.0);
        s.put("overload_warmup_s", settings.overloadWarmup().toMillis() / 1000.0);
        s.put("memory_requests", settings.memoryRequests());
        s.put("rounds", "smoke".equals(settings.mode()) ? 1 : 3);
        s.put("ramp_s", ThroughputPhase.RAMP.toMillis() / 1000.0);
        log.printf("run %s, mode %s, Redis %s at %s, load average %s%n", run, settings.mode(),
                env.get("redis_version").asText(), endpoint.redacted(), env.get("load_average_start").asText());
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String version(String group, String artifact) {
        String path = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
        try (InputStream in = Bench.class.getResourceAsStream(path)) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
