package io.llmlimiter.server.cli;

import io.llmlimiter.client.Accounting;
import io.llmlimiter.client.Durations;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterException;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code workload}: runs an OpenAI-compatible chat workload against any base URL, through the
 * limiter (from one or several JVMs sharing the budget) or naively for comparison, and prints a
 * summary (JSON with {@code --json}). With {@code --limits} / {@code --max-concurrent} it first
 * writes the target's config; the workers are built with the config in force, so they re-create it
 * if Redis loses it (a restart without persistence). Not thread-safe: picocli runs one instance once.
 */
@Command(name = "workload", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run an OpenAI-compatible chat workload through the limiter (or --naive) and summarize it.",
            "Example: workload --base-url http://127.0.0.1:8080 --target mock/gpt-4o-mini --requests 120 "
                + "--processes 3 --threads 4 --limits requests=20/2s,tokens=8000/2s --redis redis://127.0.0.1:6390"})
public final class WorkloadCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--base-url", required = true, paramLabel = "URL",
            description = "Provider base URL: http://host:port or https://api.openai.com/v1 "
                    + "(/chat/completions is appended).")
    private String baseUrl;

    @Option(names = "--target", required = true, paramLabel = "PROVIDER/MODEL",
            description = "Limiter target; the model part is sent as the request's model.")
    private String target;

    @Option(names = "--requests", defaultValue = "100", paramLabel = "N",
            description = "Calls in all (default: ${DEFAULT-VALUE}).")
    private int requests;

    @Option(names = "--threads", defaultValue = "4", paramLabel = "T",
            description = "Threads per process (default: ${DEFAULT-VALUE}).")
    private int threads;

    @Option(names = "--processes", defaultValue = "1", paramLabel = "P",
            description = "Worker JVMs sharing the budget; 1 runs in this JVM (default: ${DEFAULT-VALUE}).")
    private int processes;

    @Option(names = "--prompt-tokens", defaultValue = "100", paramLabel = "N",
            description = "Prompt size in tokens (default: ${DEFAULT-VALUE}).")
    private int promptTokens;

    @Option(names = "--max-tokens", defaultValue = "200", paramLabel = "N",
            description = "Each call's max_tokens (default: ${DEFAULT-VALUE}).")
    private int maxTokens;

    @Option(names = "--redis", paramLabel = "URI", defaultValue = "${env:LIMITER_REDIS_URL:-redis://127.0.0.1:6379}",
            description = "The limiter's Redis (default: $LIMITER_REDIS_URL or redis://127.0.0.1:6379).")
    private String redis;

    @Option(names = "--limits", paramLabel = "LIMITS",
            description = "Set the target's limits first, e.g. requests=20/2s,tokens=4000/2s.")
    private String limits;

    @Option(names = "--max-concurrent", paramLabel = "K",
            description = "Set the target's concurrency cap first (0: none).")
    private Integer maxConcurrent;

    @Option(names = "--accounting", paramLabel = "keep|actual",
            description = "With --limits: how finished calls count (default: keep, actual for anthropic).")
    private String accounting;

    @Option(names = "--naive", description = "Bypass the limiter: fixed concurrency and plain retries "
            + "(for comparison; its calls are outside any budget).")
    private boolean naive;

    @Option(names = "--naive-retries", defaultValue = "3", paramLabel = "N",
            description = "Retries of a naive call (default: ${DEFAULT-VALUE}).")
    private int naiveRetries;

    @Option(names = "--naive-backoff", defaultValue = "1s", paramLabel = "DURATION",
            description = "Fixed wait before a naive retry, Retry-After ignored (default: ${DEFAULT-VALUE}).")
    private String naiveBackoff;

    @Option(names = "--api-key-env", defaultValue = "OPENAI_API_KEY", paramLabel = "NAME",
            description = "Environment variable holding the API key, sent as a Bearer token "
                    + "(default: ${DEFAULT-VALUE}).")
    private String apiKeyEnv;

    @Option(names = "--timeout", defaultValue = "60s", paramLabel = "DURATION",
            description = "Per call (default: ${DEFAULT-VALUE}).")
    private String timeout;

    @Option(names = "--tenant", paramLabel = "NAME",
            description = "The tenant every call is made for (team, job, end user); default: the default tenant.")
    private String tenant;

    @Option(names = "--priority", paramLabel = "interactive|batch|background",
            description = "The priority class of every call (default: interactive).")
    private String priority;

    @Option(names = "--json", description = "Print only a JSON summary on stdout.")
    private boolean json;

    @Option(names = "--verbose", description = "Show the limiter's log lines (throttling, retries).")
    private boolean verbose;

    /**
     * @return 0 when the run completed (whatever its failures), 1 when it could not run
     */
    @Override
    public Integer call() {
        WorkloadSpec workload = validate();
        List<Limit> given = limits == null ? null : CliSupport.limits(spec, "--limits", limits);
        Accounting acc = accounting == null ? null : parseAccounting();
        try (CliSupport.Quiet quiet = CliSupport.quietLogging(verbose)) {
            return run(workload, given, acc);
        }
    }

    private int run(WorkloadSpec requested, List<Limit> given, Accounting acc) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            WorkloadSpec workload = requested;
            LimitConfig config = naive ? null : configure(requested.target(), given, acc);
            if (config != null && !config.autoCreated()) {
                // Workers re-create the config if Redis loses it (a restart without persistence).
                workload = requested.withConfig(config);
            }
            List<Limit> limitsKnown = naive ? given : config == null ? null : config.limits();
            int capKnown = naive ? (maxConcurrent == null ? 0 : maxConcurrent) : config == null ? 0 : config.maxConcurrent();
            // A provider's latency is not known before the run: the floor counts none, which only lowers it.
            Double min = limitsKnown == null ? null
                    : workload.floorSeconds(limitsKnown, capKnown, requests, Duration.ZERO);
            if (!json) {
                String how = naive ? "naively (no limiter)" : "through the limiter";
                out.printf(Locale.ROOT, "workload: %d calls to %s at %s %s, %d process%s x %d threads%n", requests,
                        workload.target(), ChatClient.endpoint(workload.baseUrl()), how, processes,
                        processes == 1 ? "" : "es", threads);
            }
            Summary s = WorkloadRun.run(workload, requests, processes, min, json ? err : out, workload.mode());
            if (json) {
                out.println(s.toJson().toPrettyString());
            } else {
                print(out, s, limitsKnown);
            }
            out.flush();
            return 0;
        } catch (LimiterException | IOException e) {
            err.println("error: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("error: interrupted");
            return 1;
        }
    }

    private WorkloadSpec validate() {
        String url = CliSupport.httpUrl(spec, "--base-url", baseUrl);
        Target t = CliSupport.target(spec, "--target", target);
        CliSupport.range(spec, "--requests", requests, 1, 10_000_000);
        CliSupport.range(spec, "--threads", threads, 1, 1000);
        CliSupport.range(spec, "--processes", processes, 1, 64);
        CliSupport.range(spec, "--prompt-tokens", promptTokens, 1, 1_000_000);
        CliSupport.range(spec, "--max-tokens", maxTokens, 1, 1_000_000);
        CliSupport.range(spec, "--naive-retries", naiveRetries, 0, 100);
        if (maxConcurrent != null) {
            CliSupport.range(spec, "--max-concurrent", maxConcurrent, 0, LimitConfig.MAX_CONCURRENT);
        }
        CliSupport.envName(spec, "--api-key-env", apiKeyEnv);
        Duration backoff = duration("--naive-backoff", naiveBackoff);
        Duration perCall = duration("--timeout", timeout);
        if (perCall.isZero()) {
            throw CliSupport.bad(spec, "--timeout", "must be longer than 0");
        }
        if (!naive && (redis == null || redis.isBlank())) {
            throw CliSupport.bad(spec, "--redis", "is required unless --naive");
        }
        String name = Tenant.DEFAULT_NAME;
        if (tenant != null) {
            try {
                name = Tenant.checkName(tenant);
            } catch (IllegalArgumentException e) {
                throw CliSupport.bad(spec, "--tenant", e.getMessage());
            }
        }
        Priority p = Tenant.DEFAULT.priority();
        if (priority != null) {
            try {
                p = Priority.fromLabel(priority);
            } catch (IllegalArgumentException e) {
                throw CliSupport.bad(spec, "--priority", e.getMessage());
            }
        }
        return new WorkloadSpec(url, t, threads, promptTokens, maxTokens, naive, naiveRetries, backoff,
                naive ? null : redis, apiKeyEnv, perCall, null, Tenant.of(name, p));
    }

    private Duration duration(String flag, String text) {
        try {
            return Durations.parse(flag, text);
        } catch (IllegalArgumentException e) {
            throw CliSupport.bad(spec, flag, "must be a duration like 500ms, 1s or 2m, got '" + text + "'");
        }
    }

    private Accounting parseAccounting() {
        try {
            return Accounting.fromLabel(accounting);
        } catch (IllegalArgumentException e) {
            throw CliSupport.bad(spec, "--accounting", "must be keep or actual, got '" + accounting + "'");
        }
    }

    /** Writes the config when asked to, and returns the config in force (for the floor), or null. */
    private LimitConfig configure(Target t, List<Limit> given, Accounting acc) {
        LlmLimiter connected;
        try {
            connected = LlmLimiter.builder().redis(redis).build();
        } catch (IllegalArgumentException e) {
            throw CliSupport.bad(spec, "--redis", e.getMessage());
        }
        try (LlmLimiter limiter = connected) {
            Optional<LimitConfig> current = limiter.admin().config(t);
            if (given == null && maxConcurrent == null) {
                return current.orElse(null);
            }
            LimitConfig.Builder b = current.map(LimitConfig::toBuilder).orElseGet(() -> LimitConfig.builder(t));
            if (given != null) {
                b.limits(given);
            }
            if (maxConcurrent != null) {
                b.maxConcurrent(maxConcurrent);
            }
            if (acc != null) {
                b.accounting(acc);
            }
            LimitConfig config;
            try {
                config = b.build();
            } catch (IllegalArgumentException e) {
                throw CliSupport.bad(spec, "--limits", e.getMessage());
            }
            limiter.admin().putConfig(config);
            return config;
        }
    }

    private static void print(PrintWriter out, Summary s, List<Limit> limits) {
        out.printf(Locale.ROOT, "result: %d/%d succeeded, %d failed, %d provider 429s, %d retries%n", s.succeeded(),
                s.requests(), s.failed(), s.provider429(), s.retries());
        if (limits == null) {
            out.printf(Locale.ROOT, "wall time %s (no limits known, so no theoretical floor)%n",
                    CliSupport.seconds(s.wallSeconds()));
        } else if (s.theoreticalMinSeconds() == null) {
            out.printf(Locale.ROOT, "wall time %s (no theoretical floor at %s: every call fits in the first window, "
                    + "or one call never fits, and the provider's latency is not counted)%n",
                    CliSupport.seconds(s.wallSeconds()), Limit.formatAll(limits));
        } else {
            out.printf(Locale.ROOT, "wall time %s, %.0f ms per successful call; theoretical floor %s at %s "
                            + "(%.0f ms per call; the provider's latency not counted); %.2fx the floor per success%n",
                    CliSupport.seconds(s.wallSeconds()), s.secondsPerSuccess() * 1000,
                    CliSupport.seconds(s.theoreticalMinSeconds()), Limit.formatAll(limits),
                    s.floorSecondsPerCall() * 1000, s.perSuccessRatio());
        }
        out.printf(Locale.ROOT, "cost $%s (the usage of the calls that succeeded, at the target's prices; $0 for a "
                + "model without a price)%n", java.math.BigDecimal.valueOf(s.costMicros(), 6).toPlainString());
        s.errors().forEach((why, n) -> out.printf(Locale.ROOT, "  %d x %s%n", n, why));
    }
}
