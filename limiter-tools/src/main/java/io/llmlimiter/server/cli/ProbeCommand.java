package io.llmlimiter.server.cli;

import io.llmlimiter.client.Durations;
import io.llmlimiter.client.Target;
import io.llmlimiter.server.ConfigDocument;
import io.llmlimiter.server.ServeCommand;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Locale;

import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code probe}: discovers an OpenAI-compatible endpoint's request, token and concurrency limits
 * (headers first, then 429s; see {@link LimitProbe}) within {@code --max-calls} calls, prints them
 * with a suggested config at a safety margin, and with {@code --apply} merges what it measured into
 * the target's config through the admin API ({@code PATCH}: accounting, retry and every other
 * setting stay). The admin token is read from {@code LIMITER_ADMIN_TOKEN} only, never from the
 * command line, where {@code ps} would show it. The probe's calls go straight to the endpoint,
 * outside any budget: run it against an endpoint no live workload uses at the same time. Not
 * thread-safe: picocli runs one instance once.
 */
@Command(name = "probe", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Discover an endpoint's rate limits (headers first, then 429s) and suggest a config.",
            "Spends at most --max-calls calls; real APIs charge for them. The calls bypass any budget:",
            "do not probe an endpoint a live workload is using.",
            "--apply reads the admin token from LIMITER_ADMIN_TOKEN.",
            "Example: probe --base-url https://api.openai.com/v1 --target openai/gpt-4o-mini --max-calls 30"})
public final class ProbeCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--base-url", required = true, paramLabel = "URL",
            description = "Endpoint base URL: http://host:port or https://api.openai.com/v1.")
    private String baseUrl;

    @Option(names = "--target", required = true, paramLabel = "PROVIDER/MODEL",
            description = "Target to suggest (and --apply) the config for; the model is sent in the body.")
    private String target;

    @Option(names = "--max-calls", defaultValue = "60", paramLabel = "N",
            description = "The most calls to spend (default: ${DEFAULT-VALUE}).")
    private int maxCalls;

    @Option(names = "--max-concurrency", defaultValue = "8", paramLabel = "N",
            description = "The most calls tried at once to find a concurrency cap (default: ${DEFAULT-VALUE}).")
    private int maxConcurrency;

    @Option(names = "--margin", defaultValue = "0.9", paramLabel = "SHARE",
            description = "Share of each observed limit the suggested config allows (default: ${DEFAULT-VALUE}).")
    private double margin;

    @Option(names = "--api-key-env", defaultValue = "OPENAI_API_KEY", paramLabel = "NAME",
            description = "Environment variable holding the API key (default: ${DEFAULT-VALUE}).")
    private String apiKeyEnv;

    @Option(names = "--timeout", defaultValue = "60s", paramLabel = "DURATION",
            description = "Per call (default: ${DEFAULT-VALUE}).")
    private String timeout;

    @Option(names = "--apply", description = "Merge the measured limits into the target's config through the admin "
            + "API (PATCH: other settings stay; the target is created when it has none). Needs LIMITER_ADMIN_TOKEN.")
    private boolean apply;

    @Option(names = "--admin-url", paramLabel = "URL",
            description = "Admin server for --apply, e.g. http://127.0.0.1:7070.")
    private String adminUrl;

    @Option(names = "--json", description = "Print only a JSON report on stdout.")
    private boolean json;

    @Option(names = "--verbose", description = "Show library log lines.")
    private boolean verbose;

    private final Function<String, String> env;

    /** The command as the command line runs it: the real environment. */
    public ProbeCommand() {
        this(System::getenv);
    }

    /** @param env where environment variables (the API key, the admin token) are read */
    public ProbeCommand(Function<String, String> env) {
        this.env = env;
    }

    /**
     * @return 0 when the probe ran (and applied, if asked), 1 when the endpoint or the admin server failed
     */
    @Override
    public Integer call() {
        String url = CliSupport.httpUrl(spec, "--base-url", baseUrl);
        Target t = CliSupport.target(spec, "--target", target);
        CliSupport.range(spec, "--max-calls", maxCalls, 3, 100_000);
        CliSupport.range(spec, "--max-concurrency", maxConcurrency, 1, 256);
        CliSupport.envName(spec, "--api-key-env", apiKeyEnv);
        if (!(margin > 0 && margin <= 1)) {
            throw CliSupport.bad(spec, "--margin", "must be above 0 and at most 1, got " + margin);
        }
        Duration perCall;
        try {
            perCall = Durations.parse("--timeout", timeout);
        } catch (IllegalArgumentException e) {
            throw CliSupport.bad(spec, "--timeout", "must be a duration like 30s or 2m, got '" + timeout + "'");
        }
        AdminApi admin = apply ? admin() : null;
        try (CliSupport.Quiet quiet = CliSupport.quietLogging(verbose)) {
            return run(url, t, perCall, admin);
        }
    }

    private int run(String url, Target t, Duration perCall, AdminApi admin) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ChatClient chat = new ChatClient(url, t.model(), env.apply(apiKeyEnv), perCall);
        if (!json) {
            out.printf(Locale.ROOT, "probe: %s, model %s, at most %d calls%n", chat.endpoint(), t.model(), maxCalls);
            out.flush();
        }
        try {
            ProbeReport report = new LimitProbe(new ProbeClient(chat, maxCalls), maxConcurrency).run();
            ConfigDocument suggested = report.suggest(t, margin, LocalDate.now(ZoneOffset.UTC).toString());
            String applied = null;
            if (admin != null) {
                if (suggested == null) {
                    err.println("error: nothing to apply: no limit was found");
                    return 1;
                }
                applied = admin.mergeMeasured(suggested, report.concurrency() != null);
            }
            if (json) {
                out.println(report.toJson(suggested, applied).toPrettyString());
            } else {
                report.print(out, suggested, margin);
                if (applied != null) {
                    out.println("applied: " + applied);
                }
            }
            out.flush();
            return 0;
        } catch (LimitProbe.ProbeFailed | IOException e) {
            err.println("error: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("error: interrupted");
            return 1;
        }
    }

    private AdminApi admin() {
        if (adminUrl == null) {
            throw CliSupport.bad(spec, "--admin-url", "is required with --apply");
        }
        String url = CliSupport.httpUrl(spec, "--admin-url", adminUrl);
        String token = env.apply(ServeCommand.TOKEN_ENV);
        if (token == null || token.isBlank()) {
            throw CliSupport.bad(spec, "--apply", "needs the admin token in the environment variable "
                    + ServeCommand.TOKEN_ENV);
        }
        return new AdminApi(url, token);
    }
}
