package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.Accounting;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.ModelPrice;
import io.llmlimiter.client.Target;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The seed's headline comparison: the same batch of calls run naively (fixed concurrency, no
 * limiter, three retries one second apart, as the seed's original job) and through the limiter,
 * both from several worker JVMs, against a provider with request, token and concurrency limits.
 * Not thread-safe: the demo runs it once.
 */
final class Comparison {

    /** The provider's limits during the comparison: 10 calls a second, tokens nearly as tight. */
    static final String PROVIDER_LIMITS = "requests=20/2s,tokens=7500/2s";
    static final int PROVIDER_CONCURRENCY = 8;
    /**
     * The limiter's: the provider's published limits, as a user types them. The provider counts a
     * call when it arrives, a little after the limiter admitted it; the target's delivery margin
     * (the default) absorbs that, and a provider 429 would teach the fleet a lower limit.
     */
    static final String LIMITER_LIMITS = PROVIDER_LIMITS;
    static final int PROMPT_TOKENS = 100;
    static final int MAX_TOKENS = 200;
    /** What the demo pretends the mock provider charges, dollars per million tokens (input, output). */
    static final ModelPrice MOCK_PRICES = ModelPrice.of("2.50", "10.00");

    private final DemoEnvironment env;
    private final PrintWriter out;
    private final PrintWriter progress;

    /**
     * @param env what the demo runs on
     * @param out where the demo's lines go
     * @param progress where progress lines go
     */
    Comparison(DemoEnvironment env, PrintWriter out, PrintWriter progress) {
        this.env = env;
        this.out = out;
        this.progress = progress;
    }

    /** @return the mock provider's config for the comparison */
    static MockProviderConfig providerConfig() {
        return MockProviderConfig.builder().requests(20, Duration.ofSeconds(2)).tokens(7500, Duration.ofSeconds(2))
                .maxConcurrency(PROVIDER_CONCURRENCY).latency(Duration.ofMillis(100), Duration.ofMillis(50)).build();
    }

    /**
     * Runs both jobs and prints the table.
     *
     * @param calls calls in each job
     * @param processes worker JVMs per job
     * @param threads threads per worker
     * @return both summaries as JSON
     * @throws IOException when a worker JVM fails
     * @throws InterruptedException when interrupted
     */
    ObjectNode run(int calls, int processes, int threads) throws IOException, InterruptedException {
        Target batch = new Target("demo", "batch");
        MockProvider p = env.provider();
        p.reconfigure(providerConfig());
        List<Limit> provider = Limit.parseAll(PROVIDER_LIMITS);
        LimitConfig config = LimitConfig.builder(batch).limits(LIMITER_LIMITS).maxConcurrent(PROVIDER_CONCURRENCY)
                .accounting(Accounting.KEEP).prices(MOCK_PRICES).build();
        WorkloadSpec naive = new WorkloadSpec(p.baseUrl(), batch, threads, PROMPT_TOKENS, MAX_TOKENS, true, 3,
                Duration.ofSeconds(1), null, null, Duration.ofSeconds(30)).withConfig(config);
        WorkloadSpec limited = new WorkloadSpec(p.baseUrl(), batch, threads, PROMPT_TOKENS, MAX_TOKENS, false, 0,
                Duration.ZERO, env.redisUri(), null, Duration.ofSeconds(30)).withConfig(config);
        // The floor counts the mock's fastest call: its latency less its jitter.
        MockProviderConfig pc = p.config();
        Double min = naive.floorSeconds(provider, pc.maxConcurrency(), calls, pc.latency().minus(pc.latencyJitter()));
        env.adminApi().putConfig(config);
        out.println();
        out.println("The same job, naive and through the limiter: " + calls + " calls of " + PROMPT_TOKENS + "+"
                + MAX_TOKENS + " tokens from " + processes + " worker JVMs x " + threads + " threads");
        out.println("  provider: " + PROVIDER_LIMITS + ", " + PROVIDER_CONCURRENCY + " at once; theoretical floor "
                + CliSupport.seconds(min) + " for " + calls + " calls (a full window at once, then a window per batch, "
                + "plus the fastest call)");
        out.println("  prices (mock): $" + MOCK_PRICES.inputMtok() + " per million input tokens, $"
                + MOCK_PRICES.outputMtok() + " per million output tokens");
        out.println("  naive: no limiter, each call retried up to 3 times 1 s apart (Retry-After ignored)");
        out.println("  limiter: " + batch + " set to " + LIMITER_LIMITS + ", " + PROVIDER_CONCURRENCY
                + " at once (the provider's published limits; a " + LimitConfig.DEFAULT_DELIVERY_MARGIN.toMillis()
                + " ms delivery margin absorbs the delay to the provider)");
        out.flush();
        p.resetWindows();
        Summary n = WorkloadRun.run(naive, calls, processes, min, progress, "naive");
        // The next job starts on a provider as fresh as the first one had.
        p.resetWindows();
        Summary l = WorkloadRun.run(limited, calls, processes, min, progress, "limiter");
        out.println();
        out.print(table(n, l, processes, threads));
        out.println(verdict(n, l));
        out.flush();
        ObjectNode o = CliSupport.JSON.createObjectNode();
        o.put("provider_limits", PROVIDER_LIMITS).put("provider_max_concurrency", PROVIDER_CONCURRENCY)
                .put("limiter_limits", LIMITER_LIMITS);
        o.set("naive", n.toJson());
        o.set("limiter", l.toJson());
        return o;
    }

    /**
     * @param naive the naive job
     * @param limiter the limiter's job
     * @param processes worker JVMs per job
     * @param threads threads per worker
     * @return the table, one line per job: lost calls, and time per successful call next to wall time,
     *     scored against the floor's time per call
     */
    static String table(Summary naive, Summary limiter, int processes, int threads) {
        String format = "  %-34s %6s %10s %5s %14s %10s %12s %8s %10s%n";
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, format, "run", "calls", "succeeded", "lost", "provider 429s", "wall time",
                "per success", "x floor", "cost"));
        String jobs = processes + " JVMs x " + threads + " threads";
        for (Summary s : List.of(naive, limiter)) {
            String name = (s.mode().equals("naive") ? "naive, " : "llm-limiter, ") + jobs;
            b.append(String.format(Locale.ROOT, format, name, s.requests(), s.succeeded(), s.failed(), s.provider429(),
                    CliSupport.seconds(s.wallSeconds()), millis(s.secondsPerSuccess()), times(s.perSuccessRatio()),
                    "$" + java.math.BigDecimal.valueOf(s.costMicros(), 6).toPlainString()));
        }
        return b.toString();
    }

    /** The table said in words, from its numbers. */
    static String verdict(Summary naive, Summary limiter) {
        String l = String.format(Locale.ROOT, "Through the limiter: %d/%d calls succeeded with %d provider 429s, "
                + "%s per successful call, %s the floor's %s per call.", limiter.succeeded(), limiter.requests(),
                limiter.provider429(), millis(limiter.secondsPerSuccess()), times(limiter.perSuccessRatio()),
                millis(limiter.floorSecondsPerCall()));
        String n = String.format(Locale.ROOT, " Naive: %d/%d succeeded after %d provider 429s, %s per successful call "
                + "(%s the floor)", naive.succeeded(), naive.requests(), naive.provider429(),
                millis(naive.secondsPerSuccess()), times(naive.perSuccessRatio()));
        n += naive.failed() > 0 ? ", and " + naive.failed() + " calls were lost." : ".";
        return l + n;
    }

    private static String millis(double seconds) {
        return Double.isNaN(seconds) || Double.isInfinite(seconds) ? "-"
                : String.format(Locale.ROOT, "%.0f ms", seconds * 1000);
    }

    private static String times(double ratio) {
        return Double.isNaN(ratio) || Double.isInfinite(ratio) ? "-" : String.format(Locale.ROOT, "%.2fx", ratio);
    }
}
