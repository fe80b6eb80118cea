package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterException;
import io.llmlimiter.client.RetrySettings;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.retry.HttpStatusException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The seed's third and fourth demos: a provider 429 detected and retried with the waits shown,
 * and a limit changed through the admin API while workers run, taking effect at once. Not
 * thread-safe: the demo runs them in turn.
 */
final class LiveDemos {

    private static final int PHASE_SECONDS = 3;

    private final DemoEnvironment env;
    private final SeedDemos seed;
    private final PrintWriter out;

    /**
     * @param env what the demo runs on
     * @param seed the shared call and config helpers
     * @param out where the demo's lines go
     */
    LiveDemos(DemoEnvironment env, SeedDemos seed, PrintWriter out) {
        this.env = env;
        this.seed = seed;
        this.out = out;
    }

    /** Demo 3: the provider answers 429 twice; the limiter waits, retries and succeeds. */
    ObjectNode retry() throws IOException, InterruptedException {
        Target t = new Target("demo", "retry");
        RetrySettings retry =
                new RetrySettings(3, Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(60));
        seed.configure(LimitConfig.builder(t).limits("requests=10/1s").maxConcurrent(4).retry(retry).build());
        seed.heading("Demo 3: rate-limit detection and retry",
                "the provider will answer 429 twice; " + t + " retries up to 3 times from 0.5 s, rate limits waiting "
                        + "twice as long, never less than the provider's Retry-After");
        env.provider().failNext(429, 2);
        ChatClient chat = seed.chat(t);
        List<Double> waits = new ArrayList<>();
        long[] lastEnd = {0};
        long start = System.nanoTime();
        boolean ok;
        try {
            env.limiter().execute(t, SeedDemos.ESTIMATE, ctx -> {
                long begin = System.nanoTime();
                String prefix = String.format(Locale.ROOT, "  attempt %d", ctx.attempt());
                if (ctx.attempt() > 1) {
                    double wait = (begin - lastEnd[0]) / 1e9;
                    waits.add(CliSupport.round3(wait));
                    prefix += String.format(Locale.ROOT, " after waiting %.1f s", wait);
                }
                try {
                    SeedDemos.Outcome o = SeedDemos.send(chat, ctx);
                    out.printf(Locale.ROOT, "%s: HTTP %d, succeeded%n", prefix, o.status());
                    return o;
                } catch (HttpStatusException e) {
                    lastEnd[0] = System.nanoTime();
                    out.printf(Locale.ROOT, "%s: HTTP %d \"%s\" (Retry-After: %s s)%n", prefix, e.statusCode(),
                            message(e), e.headers().getOrDefault("retry-after", List.of("none")).get(0));
                    if (e.statusCode() == 429) {
                        out.println("    rate limit detected: every worker of " + t + " pauses for the provider's "
                                + "Retry-After, and this call retries");
                    }
                    out.flush();
                    throw e;
                }
            });
            ok = true;
        } catch (LimiterException e) {
            out.println("  failed: " + e.getMessage());
            ok = false;
        }
        double total = (System.nanoTime() - start) / 1e9;
        out.printf(Locale.ROOT, "  %s after %d retries, %.1f s in all%n", ok ? "succeeded" : "gave up", waits.size(),
                total);
        ObjectNode o = CliSupport.JSON.createObjectNode().put("provider_429", 2).put("retries", waits.size())
                .put("succeeded", ok).put("seconds", CliSupport.round3(total));
        ArrayNode w = o.putArray("waits_seconds");
        waits.forEach(w::add);
        return o;
    }

    /** Demo 4: four workers run at 3 calls a second; the limit goes to 8 through the admin API. */
    ObjectNode liveConfig() throws IOException, InterruptedException {
        Target t = new Target("demo", "live-config");
        LimitConfig before = LimitConfig.builder(t).limits("requests=3/1s").maxConcurrent(4).build();
        LimitConfig after = before.toBuilder().limits("requests=8/1s").build();
        seed.configure(before);
        seed.heading("Demo 4: a limit changed live",
                "4 workers call " + t + " for " + 2 * PHASE_SECONDS + " s; after " + PHASE_SECONDS
                        + " s its limit goes from requests=3/1s to requests=8/1s through the admin API");
        env.provider().resetWindows();
        ChatClient chat = seed.chat(t);
        ConcurrentLinkedQueue<Long> admitted = new ConcurrentLinkedQueue<>();
        AtomicBoolean stop = new AtomicBoolean();
        long start = System.nanoTime();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            Thread th = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        env.limiter().execute(t, SeedDemos.ESTIMATE, ctx -> {
                            admitted.add(System.nanoTime() - start);
                            return SeedDemos.send(chat, ctx);
                        });
                    } catch (LimiterException e) {
                        return;
                    }
                }
            }, "demo-live-" + w);
            th.start();
            workers.add(th);
        }
        Thread.sleep(PHASE_SECONDS * 1000L);
        String put = env.adminApi().putConfig(after);
        out.println("  " + put + " {\"limits\":\"requests=8/1s\"}");
        Thread.sleep(PHASE_SECONDS * 1000L);
        stop.set(true);
        for (Thread th : workers) {
            th.join();
        }
        int[] perSecond = new int[2 * PHASE_SECONDS];
        for (long at : admitted) {
            int s = (int) (at / 1_000_000_000L);
            if (s < perSecond.length) {
                perSecond[s]++;
            }
        }
        StringBuilder line = new StringBuilder("  calls started per second:");
        for (int s = 0; s < perSecond.length; s++) {
            line.append(s == PHASE_SECONDS ? "  | new limit |" : "").append(' ').append(perSecond[s]);
        }
        out.println(line);
        double rateBefore = average(perSecond, 0, PHASE_SECONDS);
        double rateAfter = average(perSecond, PHASE_SECONDS + 1, 2 * PHASE_SECONDS);
        out.printf(Locale.ROOT, "  %.1f calls/s before, %.1f calls/s after: every worker took the new limit at once, "
                + "no restart%n", rateBefore, rateAfter);
        ObjectNode o = CliSupport.JSON.createObjectNode();
        o.putObject("before").put("limit", "requests=3/1s").put("calls_per_second", CliSupport.round3(rateBefore));
        o.putObject("after").put("limit", "requests=8/1s").put("calls_per_second", CliSupport.round3(rateAfter));
        ArrayNode a = o.putArray("calls_per_second");
        for (int n : perSecond) {
            a.add(n);
        }
        return o;
    }

    private static double average(int[] values, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += values[i];
        }
        return sum / (to - from);
    }

    private static String message(HttpStatusException e) {
        String body = e.body().orElse("");
        try {
            String m = CliSupport.JSON.readTree(body).path("error").path("message").asText("");
            return m.isEmpty() ? body : m;
        } catch (IOException ex) {
            return body;
        }
    }
}
