package io.llmlimiter.server.cli;

import io.llmlimiter.client.Durations;
import io.llmlimiter.client.Limit;
import io.llmlimiter.server.mock.HeaderStyle;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code mock-provider}: the mock LLM provider on its own, until the process is stopped, for users
 * who want to try their own workers against real rate limits without paying for calls. It listens
 * on 127.0.0.1 and serves the OpenAI-compatible {@code POST /v1/chat/completions} and the
 * Anthropic-style {@code POST /v1/messages}, with exact sliding windows, a concurrency cap, a
 * latency and rate-limit headers. Not thread-safe: picocli runs one instance once.
 */
@Command(name = "mock-provider", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the mock LLM provider on its own, on 127.0.0.1, until Ctrl-C.",
            "Serves POST /v1/chat/completions (OpenAI-compatible) and POST /v1/messages (Anthropic-style) with real "
                    + "rate limits: a request over a limit gets 429 with Retry-After; nothing is billed."})
public final class MockProviderCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--port", defaultValue = "8080",
            description = "Port on 127.0.0.1 (0 picks a free one; default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = "--limits", paramLabel = "LIMITS",
            description = {"At most one requests and one tokens window, e.g. requests=20/2s,tokens=40000/60s. "
                    + "Tokens count the prompt (characters / 4) plus max_tokens, charged on arrival.",
                "Default: no limits."})
    private String limits;

    @Option(names = "--max-concurrent", defaultValue = "0", paramLabel = "N",
            description = "Most requests served at once; more get 429 (default: ${DEFAULT-VALUE}, unlimited).")
    private int maxConcurrent;

    @Option(names = "--latency", defaultValue = "0ms", paramLabel = "DURATION",
            description = "Time each admitted request takes, e.g. 200ms (default: ${DEFAULT-VALUE}).")
    private String latency;

    @Option(names = "--latency-jitter", defaultValue = "0ms", paramLabel = "DURATION",
            description = "Half-width of a uniform jitter around --latency, e.g. 50ms (default: ${DEFAULT-VALUE}).")
    private String latencyJitter;

    @Option(names = "--headers", defaultValue = "native", paramLabel = "STYLE",
            description = "Rate-limit headers: native (each endpoint its provider's), openai, anthropic or none "
                    + "(default: ${DEFAULT-VALUE}).")
    private String headers;

    /** @return 0 after Ctrl-C, 1 when the port cannot be used */
    @Override
    public Integer call() throws InterruptedException {
        MockProviderConfig config = config();
        CliSupport.range(spec, "--port", port, 0, 65_535);
        MockProvider provider;
        try (CliSupport.Quiet quiet = CliSupport.quietLogging(false)) {
            provider = MockProvider.start(port, config);
        } catch (RuntimeException e) {
            spec.commandLine().getErr().println("error: the mock provider could not start on port " + port + ": "
                    + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            provider.close();
            stopped.countDown();
        }, "mock-provider-shutdown"));
        PrintWriter out = spec.commandLine().getOut();
        out.println("mock provider listening on " + provider.baseUrl());
        out.println("  POST " + provider.baseUrl() + "/v1/chat/completions   (OpenAI-compatible)");
        out.println("  POST " + provider.baseUrl() + "/v1/messages           (Anthropic-style)");
        out.println("  " + describe(config));
        out.println("Try it through the limiter: java -jar llm-limiter.jar workload --base-url "
                + provider.baseUrl() + " --target mock/model"
                + (limits == null ? "" : " --limits " + Limit.formatAll(CliSupport.limits(spec, "--limits", limits)))
                + (maxConcurrent > 0 ? " --max-concurrent " + maxConcurrent : ""));
        out.println("Press Ctrl-C to stop.");
        out.flush();
        stopped.await();
        return 0;
    }

    /**
     * Validates the flags and builds the provider's configuration.
     *
     * @return the configuration
     * @throws picocli.CommandLine.ParameterException naming the bad flag
     */
    MockProviderConfig config() {
        MockProviderConfig.Builder b = MockProviderConfig.builder();
        if (limits != null) {
            boolean requests = false;
            boolean tokens = false;
            for (Limit l : CliSupport.limits(spec, "--limits", limits)) {
                switch (l.resource()) {
                    case REQUESTS -> {
                        if (requests) {
                            throw CliSupport.bad(spec, "--limits", "the mock provider keeps one requests window, got "
                                    + limits);
                        }
                        requests = true;
                        b.requests(l.amount(), l.window());
                    }
                    case TOKENS -> {
                        if (tokens) {
                            throw CliSupport.bad(spec, "--limits", "the mock provider keeps one tokens window, got "
                                    + limits);
                        }
                        tokens = true;
                        b.tokens(l.amount(), l.window());
                    }
                    default -> throw CliSupport.bad(spec, "--limits", "the mock provider limits requests and tokens, "
                            + "not " + l.resource() + " (got " + limits + ")");
                }
            }
        }
        b.maxConcurrency(CliSupport.range(spec, "--max-concurrent", maxConcurrent, 0, 100_000));
        b.latency(duration("--latency", latency), duration("--latency-jitter", latencyJitter));
        b.headerStyle(headerStyle());
        return b.build();
    }

    private Duration duration(String flag, String text) {
        Duration d;
        try {
            d = Durations.parse(flag, text);
        } catch (IllegalArgumentException e) {
            throw CliSupport.bad(spec, flag, e.getMessage());
        }
        if (d.compareTo(Duration.ofMinutes(10)) > 0) {
            throw CliSupport.bad(spec, flag, "must be at most 10m, got " + text);
        }
        return d;
    }

    private HeaderStyle headerStyle() {
        try {
            return HeaderStyle.valueOf(headers.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw CliSupport.bad(spec, "--headers", "must be one of native, openai, anthropic, none, got '"
                    + headers + "'");
        }
    }

    private static String describe(MockProviderConfig c) {
        List<String> parts = new ArrayList<>();
        c.requestLimit().ifPresent(l -> parts.add("requests=" + l.limit() + "/" + Durations.format(l.window())));
        c.tokenLimit().ifPresent(l -> parts.add("tokens=" + l.limit() + "/" + Durations.format(l.window())));
        String limitsText = parts.isEmpty() ? "no rate limits" : String.join(", ", parts);
        return limitsText + "; " + (c.maxConcurrency() == 0 ? "no concurrency cap" : c.maxConcurrency() + " at once")
                + "; latency " + c.latency().toMillis() + " ms"
                + (c.latencyJitter().isZero() ? "" : " ± " + c.latencyJitter().toMillis() + " ms")
                + "; headers " + c.headerStyle().name().toLowerCase(Locale.ROOT);
    }
}
