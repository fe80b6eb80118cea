package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.CallContext;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterException;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import io.llmlimiter.client.retry.HttpStatusException;
import io.llmlimiter.server.mock.MockProvider;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The seed's first two demos, run through the limiter against the mock provider: ten calls one
 * after another, then twenty calls from five workers sharing one budget, with what the provider
 * saw. The third and fourth are in {@link LiveDemos}. Not thread-safe: the demo runs them in turn.
 */
final class SeedDemos {

    static final int PROMPT_TOKENS = 50;
    static final int MAX_TOKENS = 100;
    static final Estimate ESTIMATE = Estimate.of(PROMPT_TOKENS, MAX_TOKENS);
    private static final String PROMPT = ChatClient.prompt(PROMPT_TOKENS);

    private final DemoEnvironment env;
    private final PrintWriter out;

    /**
     * @param env what the demo runs on
     * @param out where the demo's lines go
     */
    SeedDemos(DemoEnvironment env, PrintWriter out) {
        this.env = env;
        this.out = out;
    }

    /** A call's outcome as the demo shows it. */
    record Outcome(int status, long promptTokens, long completionTokens, int attempts) {
    }

    /** Demo 1: the seed's basic use, ten calls one after another. */
    ObjectNode basic() throws IOException, InterruptedException {
        Target t = new Target("demo", "basic");
        configure(LimitConfig.builder(t).limits("requests=10/1s,tokens=20000/1s").maxConcurrent(4).build());
        heading("Demo 1: basic use - 10 calls, one after another, through the limiter",
                "limits of " + t + ": requests=10/1s,tokens=20000/1s, 4 at once (the provider's own)");
        ChatClient chat = chat(t);
        int ok = 0;
        for (int i = 1; i <= 10; i++) {
            long start = System.nanoTime();
            try {
                Outcome o = call(chat, t);
                ok++;
                out.printf(Locale.ROOT, "  call %2d: HTTP %d, %d prompt + %d completion tokens, %.2f s%n", i, o.status,
                        o.promptTokens, o.completionTokens, (System.nanoTime() - start) / 1e9);
            } catch (LimiterException e) {
                out.printf(Locale.ROOT, "  call %2d: failed: %s%n", i, e.getMessage());
            }
            out.flush();
        }
        out.printf(Locale.ROOT, "  %d/10 succeeded%n", ok);
        return CliSupport.JSON.createObjectNode().put("calls", 10).put("succeeded", ok);
    }

    /** Demo 2: twenty calls from five workers at once, one shared budget, no 429. */
    ObjectNode concurrent() throws IOException, InterruptedException {
        Target t = new Target("demo", "concurrent");
        configure(LimitConfig.builder(t).limits("requests=10/1s,tokens=20000/1s").maxConcurrent(4).build());
        heading("Demo 2: 20 calls at once from 5 workers, one shared budget",
                "limits of " + t + ": requests=10/1s,tokens=20000/1s, 4 at once (the provider's own; the "
                        + "delivery margin, " + LimitConfig.DEFAULT_DELIVERY_MARGIN.toMillis()
                        + " ms, absorbs the delay between admission and arrival at the provider)");
        MockProvider p = env.provider();
        p.resetWindows();
        p.resetCounters();
        ChatClient chat = chat(t);
        Tally tally = new Tally();
        long start = System.nanoTime();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < 5; w++) {
            Thread th = new Thread(() -> {
                for (int i = 0; i < 4; i++) {
                    try {
                        call(chat, t);
                        tally.succeeded();
                    } catch (LimiterException e) {
                        tally.failed(e.getMessage());
                    }
                }
            }, "demo-worker-" + w);
            th.start();
            workers.add(th);
        }
        for (Thread th : workers) {
            th.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long window = p.maxRequestsInAnyWindow(Duration.ofSeconds(1));
        int atOnce = p.maxConcurrencyObserved();
        long refused = p.rateLimitedCount();
        out.printf(Locale.ROOT, "  %d/20 succeeded in %.1f s, %d x 429 from the provider%n",
                tally.snapshot().succeeded(), seconds, refused);
        out.printf(Locale.ROOT, "  the provider saw at most %d requests in any 1 s (its limit: 10) and %d at once "
                + "(its limit: 4)%n", window, atOnce);
        return CliSupport.JSON.createObjectNode().put("calls", 20).put("workers", 5)
                .put("succeeded", tally.snapshot().succeeded()).put("provider_429", refused)
                .put("max_requests_in_any_second", window).put("max_concurrent_seen", atOnce)
                .put("seconds", CliSupport.round3(seconds));
    }

    /**
     * One call through {@code execute}: reports headers and usage; a non-2xx status is thrown for
     * the limiter to classify and retry.
     */
    Outcome call(ChatClient chat, Target t) {
        return env.limiter().execute(t, ESTIMATE, ctx -> send(chat, ctx));
    }

    static Outcome send(ChatClient chat, CallContext ctx) throws IOException, InterruptedException {
        HttpResponse<String> r = chat.send(PROMPT, MAX_TOKENS);
        if (r.statusCode() >= 300) {
            throw new HttpStatusException(r);
        }
        ctx.headers(r.headers().map());
        Usage u = Usage.fromResponseBody(r.body()).orElse(Usage.of(0, 0));
        ctx.usage(u);
        return new Outcome(r.statusCode(), u.inputTokens(), u.outputTokens(), ctx.attempt());
    }

    ChatClient chat(Target t) {
        return new ChatClient(env.provider().baseUrl(), t.model(), null, Duration.ofSeconds(30));
    }

    /** Writes a config through the admin REST API, as the dashboard's form does. */
    void configure(LimitConfig config) throws IOException, InterruptedException {
        env.adminApi().putConfig(config);
    }

    void heading(String title, String detail) {
        out.println();
        out.println(title);
        out.println("  " + detail);
        out.flush();
    }
}
