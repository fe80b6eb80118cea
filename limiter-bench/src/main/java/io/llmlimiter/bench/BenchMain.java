package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.server.EmbeddedRedis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The bench's command line: measures llm-limiter against Redis's own floor, Redisson and
 * Bucket4j on one Redis in one run, and prints Markdown tables (or JSON with {@code --json}).
 * Progress goes to stderr, results to stdout.
 *
 * <pre>
 * java -jar limiter-bench/target/limiter-bench.jar --quick
 * java -jar limiter-bench/target/limiter-bench.jar --redis redis://127.0.0.1:6380 --json | jq .ratios
 * </pre>
 */
@Command(name = "limiter-bench", mixinStandardHelpOptions = true,
        description = "Measures llm-limiter against Redis's own floor, Redisson and Bucket4j on one Redis, in one run.")
public final class BenchMain implements Callable<Integer> {

    @Option(names = "--redis", paramLabel = "URI",
            description = "Redis to measure on (its INFO counters must not be shared with other load); "
                    + "default: start a throwaway redis-server on a free port")
    String redis;

    @Option(names = "--redis-server", paramLabel = "PATH",
            description = "redis-server binary to start (default: the PATH, else the one inside embedded-redis)")
    Path redisServer;

    @Option(names = "--quick", description = "shorter phases: finishes in under 2 minutes on 2 cores")
    boolean quick;

    @Option(names = "--smoke", description = "tiny phases (about 1 s each, budget 100/s, 100 requests for memory), for CI")
    boolean smoke;

    @Option(names = "--phase", paramLabel = "NAME",
            description = "run only this phase: scripts (Redis time per script call at 1k-300k in-window entries), "
                    + "memory, scale, overload, tenants (overload on one target shared fairly by 10 tenants, against "
                    + "all callers of one tenant), or server (the admin server's /metrics and /api/v1/stats at 1,000 targets)")
    String phase;

    @Option(names = "--json", description = "print one JSON object instead of Markdown")
    boolean json;

    @Option(names = "--json-file", paramLabel = "FILE", description = "also write the JSON here")
    Path jsonFile;

    @Option(names = "--markdown-file", paramLabel = "FILE", description = "also write the Markdown here")
    Path markdownFile;

    @Option(names = "--save-results", paramLabel = "DIR",
            description = "also write the JSON as DIR/<UTC date and time>.json (the bench's own: limiter-bench/results)")
    Path saveResults;

    @Option(names = "--render-readme", paramLabel = "RESULTS_JSON",
            description = "run nothing: write the tables of this saved run into limiter-bench/README.md and README.md "
                    + "(between their bench-results markers), from the current directory")
    Path renderReadme;

    @Option(names = "--threads", split = ",", paramLabel = "N",
            description = "thread counts of the throughput phases (default: 1,16,64)")
    List<Integer> threads;

    @Option(names = "--budget", paramLabel = "PER_SECOND", description = "overload budget, calls/s (default: 500)")
    Integer budget;

    @Option(names = "--overload-seconds", paramLabel = "S", description = "overload measurement, whole seconds")
    Integer overloadSeconds;

    /**
     * @param args command-line arguments; {@code --help} lists them
     */
    public static void main(String[] args) {
        System.exit(new CommandLine(new BenchMain()).execute(args));
    }

    /**
     * Runs the bench.
     *
     * @return the exit code
     * @throws Exception when Redis cannot be reached or a phase cannot be set up
     */
    @Override
    public Integer call() throws Exception {
        if (renderReadme != null) {
            Path bench = Path.of("limiter-bench", "README.md");
            Path project = Path.of("README.md");
            ReadmeTables.render(renderReadme, bench, Files.exists(project) ? project : null);
            System.err.println("tables of " + renderReadme + " written into " + bench
                    + (Files.exists(project) ? " and " + project : ""));
            return 0;
        }
        BenchSettings s = settings();
        EmbeddedRedis local = redis == null ? EmbeddedRedis.start(redisServer) : null;
        try {
            RedisEndpoint endpoint = RedisEndpoint.parse(local != null ? local.uri() : redis);
            if (phase != null && !List.of("scripts", "memory", "server", "scale", "overload", "tenants").contains(phase)) {
                throw new CommandLine.ParameterException(new CommandLine(this),
                        "unknown phase " + phase + " (known: scripts, memory, server, scale, overload, tenants)");
            }
            if (phase != null) {
                ObjectNode results = new Bench(s, endpoint, System.err).runOnly(phase);
                String text = Report.json(results);
                if (jsonFile != null) {
                    Files.writeString(jsonFile, text);
                }
                System.out.println(json ? text : Report.only(results));
                return 0;
            }
            ObjectNode results = new Bench(s, endpoint, System.err).run(local != null);
            String text = Report.json(results);
            String md = Report.markdown(results);
            if (jsonFile != null) {
                Files.writeString(jsonFile, text);
            }
            if (saveResults != null) {
                Files.createDirectories(saveResults);
                String name = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH-mm'Z'")
                        .withZone(java.time.ZoneOffset.UTC).format(java.time.Instant.now()) + ".json";
                Path file = saveResults.resolve(name);
                Files.writeString(file, text);
                System.err.println("results saved as " + file + "; publish them with --render-readme " + file);
            }
            if (markdownFile != null) {
                Files.writeString(markdownFile, md);
            }
            System.out.println(json ? text : md);
            return 0;
        } finally {
            if (local != null) {
                local.close();
            }
        }
    }

    private BenchSettings settings() {
        BenchSettings s = BenchSettings.of(smoke ? "smoke" : quick ? "quick" : "default");
        return new BenchSettings(s.mode(), threads == null ? s.threads() : threads, s.warmup(), s.window(),
                s.overloadThreads(), budget == null ? s.budget() : budget, s.overloadWarmup(),
                overloadSeconds == null ? s.overloadWindow() : Duration.ofSeconds(overloadSeconds),
                s.roundTripWindow(), s.settle(), s.memoryRequests());
    }
}
