package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimiterException;
import io.llmlimiter.server.mock.MockProviderConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code demo}: the README's first command. With nothing but a JDK it starts a throwaway Redis,
 * the mock provider and the admin server (dashboard URL and token printed), runs the seed's four
 * demos, two teams on one key without and with fair share, and the naive-versus-limiter
 * comparison, prints the tables (or {@code --json}), and stops everything. Not thread-safe:
 * picocli runs one instance once.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the demo: the seed's four demos, two teams on one key without and with fair share, "
                + "then one job naive and through the limiter.",
            "Starts a throwaway Redis, a mock LLM provider and the dashboard on this machine; nothing is billed."})
public final class DemoCommand implements Callable<Integer> {

    /** The mock provider during demos 1 to 4 and the two teams: 10 requests a second, 4 at once. */
    static final MockProviderConfig DEMO_PROVIDER = MockProviderConfig.builder().requests(10, Duration.ofSeconds(1))
            .tokens(20_000, Duration.ofSeconds(1)).maxConcurrency(4)
            .latency(Duration.ofMillis(100), Duration.ofMillis(40)).build();

    @Spec
    private CommandSpec spec;

    @Option(names = "--calls", defaultValue = "120", paramLabel = "N",
            description = "Calls in each job of the comparison (default: ${DEFAULT-VALUE}).")
    private int calls;

    @Option(names = "--processes", defaultValue = "3", paramLabel = "P",
            description = "Worker JVMs per job of the comparison (default: ${DEFAULT-VALUE}).")
    private int processes;

    @Option(names = "--threads", defaultValue = "4", paramLabel = "T",
            description = "Threads per worker JVM (default: ${DEFAULT-VALUE}).")
    private int threads;

    @Option(names = "--port", defaultValue = "0",
            description = "Admin server and dashboard port (default: a free one).")
    private int port;

    @Option(names = "--redis", paramLabel = "URI", description = "Use this Redis instead of starting a throwaway one.")
    private String redis;

    @Option(names = "--keep-running", description = "Leave Redis, the mock provider and the dashboard up until Ctrl-C.")
    private boolean keepRunning;

    @Option(names = "--json", description = "Print only a JSON summary on stdout.")
    private boolean json;

    @Option(names = "--verbose", description = "Show the limiter's log lines.")
    private boolean verbose;

    /** @return 0 when the demo ran, 1 when it could not */
    @Override
    public Integer call() {
        CliSupport.range(spec, "--calls", calls, 1, 100_000);
        CliSupport.range(spec, "--processes", processes, 1, 16);
        CliSupport.range(spec, "--threads", threads, 1, 64);
        CliSupport.range(spec, "--port", port, 0, 65_535);
        try (CliSupport.Quiet quiet = CliSupport.quietLogging(verbose)) {
            return run();
        }
    }

    private int run() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = json ? new PrintWriter(OutputStream.nullOutputStream()) : spec.commandLine().getOut();
        PrintWriter progress = json ? err : out;
        long start = System.nanoTime();
        ObjectNode summary = CliSupport.JSON.createObjectNode();
        DemoEnvironment started;
        try {
            started = DemoEnvironment.start(redis, port, DEMO_PROVIDER);
        } catch (IOException | RuntimeException e) {
            // A taken --port or an unreachable --redis: say so in one line.
            err.println("error: the demo could not start: " + e.getMessage());
            return 1;
        }
        try (DemoEnvironment env = started) {
            intro(out, env, summary);
            SeedDemos seed = new SeedDemos(env, out);
            LiveDemos live = new LiveDemos(env, seed, out);
            ObjectNode demos = summary.putObject("demos");
            demos.set("basic", seed.basic());
            demos.set("concurrent", seed.concurrent());
            demos.set("retry", live.retry());
            demos.set("live_config", live.liveConfig());
            summary.set("two_teams", new TwoTeams(env, seed, out).run());
            summary.set("comparison", new Comparison(env, out, progress).run(calls, processes, threads));
            double total = (System.nanoTime() - start) / 1e9;
            summary.put("total_seconds", CliSupport.round3(total));
            out.printf(Locale.ROOT, "%ndemo finished in %.0f s%n", total);
            out.flush();
            if (keepRunning) {
                holdUntilInterrupted(out, env);
            }
        } catch (IOException | LimiterException e) {
            err.println("error: the demo could not run: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("error: interrupted");
            return 1;
        }
        if (json) {
            spec.commandLine().getOut().println(summary.toPrettyString());
            spec.commandLine().getOut().flush();
        }
        return 0;
    }

    private void intro(PrintWriter out, DemoEnvironment env, ObjectNode summary) {
        summary.put("redis", env.redisUri());
        summary.put("mock_provider", env.provider().baseUrl());
        summary.put("dashboard", env.dashboardUrl());
        summary.put("admin_token", env.token());
        out.println("llm-limiter demo: everything runs on this machine; nothing is billed.");
        String source = env.redisSource() == null ? "" : " (" + env.redisSource() + ")";
        out.println("  Redis          " + env.redisUri() + source);
        out.println("  mock provider  " + env.provider().baseUrl() + "/v1/chat/completions (OpenAI-compatible; "
                + "requests=10/1s, tokens=20000/1s, 4 at once)");
        out.println("  dashboard      " + env.dashboardUrl() + "   admin token (this run only): " + env.token());
        out.println("  Open the dashboard to watch the targets demo/* live.");
        out.flush();
    }

    private static void holdUntilInterrupted(PrintWriter out, DemoEnvironment env) throws InterruptedException {
        out.println("still running (--keep-running); press Ctrl-C to stop. Try, from another terminal:");
        out.println("  java -jar llm-limiter.jar workload --base-url " + env.provider().baseUrl()
                + " --target demo/batch --redis " + env.redisUri() + " --requests 60 --processes 3");
        out.println("  LIMITER_ADMIN_TOKEN=" + env.token() + " java -jar llm-limiter.jar probe --base-url "
                + env.provider().baseUrl() + " --target demo/probed --apply --admin-url "
                + env.dashboardUrl().substring(0, env.dashboardUrl().length() - 1));
        out.println("  the mock provider now allows " + Comparison.PROVIDER_LIMITS + ", "
                + Comparison.PROVIDER_CONCURRENCY + " at once");
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            env.close();
            stopped.countDown();
        }, "demo-shutdown"));
        stopped.await();
    }
}
