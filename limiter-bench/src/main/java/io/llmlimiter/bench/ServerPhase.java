package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import io.llmlimiter.server.AdminServer;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The admin server's reads at scale: {@code targets} targets, each with a few calls in its window,
 * then {@code GET /metrics} (on the separate metrics listener) and {@code GET /api/v1/stats} timed
 * from a client, one request at a time. A request finds the shared reading (kept for about a
 * second) stale when it comes 1.1 s after the previous one, unless the history sampler (every 5 s)
 * read just before; so {@code stale} requests are spaced that way and {@code cached} ones are sent
 * back to back. The server's own time per batched read of every target is reported beside them.
 * Not thread-safe.
 */
final class ServerPhase {

    private static final Duration STALE = Duration.ofMillis(1100);

    private final PrintStream log;
    private final String redisUri;
    private final int targets;
    private final int requests;

    /**
     * @param log where progress goes
     * @param redisUri the Redis under test
     * @param targets how many targets
     * @param requests timed requests per endpoint and kind
     */
    ServerPhase(PrintStream log, String redisUri, int targets, int requests) {
        this.log = log;
        this.redisUri = redisUri;
        this.targets = targets;
        this.requests = requests;
    }

    /**
     * @param namespace a fresh namespace (the targets are {@code bench/<namespace>.<i>})
     * @return the measurements
     */
    ObjectNode run(String namespace) throws Exception {
        Path dir = Files.createTempDirectory("llmlim-bench-server-");
        // An existing (empty) config file: the server adopts what Redis holds and seeds no demo targets.
        Files.writeString(dir.resolve("llm_configs.json"), "{}");
        String token = UUID.randomUUID().toString();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redisUri).build()) {
            fill(limiter, namespace);
            try (AdminServer server = AdminServer.builder().admin(limiter.admin()).redis(redisUri).token(token)
                    .configFile(dir.resolve("llm_configs.json")).meterRegistry(registry).host("127.0.0.1").port(0)
                    .metricsPort(0).reconcileInterval(Duration.ofMinutes(10)).start()) {
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
                HttpRequest metrics = HttpRequest.newBuilder(URI.create(server.metricsUrl().orElseThrow()))
                        .timeout(Duration.ofSeconds(30)).build();
                HttpRequest stats = HttpRequest.newBuilder(URI.create(server.url() + "/api/v1/stats"))
                        .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30)).build();
                // Warm-up: JIT, connections, the meters of every target registered once.
                for (int i = 0; i < 3; i++) {
                    time(http, metrics);
                    time(http, stats);
                    Thread.sleep(STALE.toMillis());
                }
                ObjectNode out = JsonNodeFactory.instance.objectNode();
                out.put("targets", targets);
                out.put("requests", requests);
                out.set("metrics_stale", series(http, metrics, true));
                out.set("stats_stale", series(http, stats, true));
                out.set("metrics_cached", series(http, metrics, false));
                out.set("stats_cached", series(http, stats, false));
                Timer read = registry.find("llmlimiter.server.snapshot.read").timer();
                if (read != null) {
                    out.put("snapshot_reads", read.count());
                    out.put("snapshot_read_mean_ms", round(read.mean(TimeUnit.MILLISECONDS)));
                    out.put("snapshot_read_max_ms", round(read.max(TimeUnit.MILLISECONDS)));
                }
                out.put("metrics_bytes", http.send(metrics, HttpResponse.BodyHandlers.ofString()).body().length());
                out.put("stats_bytes", http.send(stats, HttpResponse.BodyHandlers.ofString()).body().length());
                log.printf("server, %d targets: /metrics p50 %.1f ms max %.1f ms, /api/v1/stats p50 %.1f ms max %.1f ms "
                                + "(stale reading); one batched read of every target: mean %.1f ms, max %.1f ms%n", targets,
                        out.path("metrics_stale").path("p50_ms").asDouble(), out.path("metrics_stale").path("max_ms").asDouble(),
                        out.path("stats_stale").path("p50_ms").asDouble(), out.path("stats_stale").path("max_ms").asDouble(),
                        out.path("snapshot_read_mean_ms").asDouble(), out.path("snapshot_read_max_ms").asDouble());
                return out;
            } finally {
                for (int i = 0; i < targets; i++) {
                    limiter.admin().deleteConfig(LimiterContender.target(namespace, i));
                }
            }
        }
    }

    /** Configures every target and admits (then completes) a few calls on each, 16 threads at a time. */
    private void fill(LlmLimiter limiter, String namespace) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            Future<?>[] parts = new Future<?>[16];
            for (int p = 0; p < parts.length; p++) {
                int part = p;
                parts[p] = pool.submit(() -> {
                    for (int i = part; i < targets; i += 16) {
                        Target t = LimiterContender.target(namespace, i);
                        limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=1000/60s,tokens=1000000/60s")
                                .maxConcurrent(10).build());
                        for (int k = 0; k < 3; k++) {
                            Permit permit = limiter.acquire(t, Estimate.of(200, 50), Duration.ofSeconds(10));
                            permit.complete(Usage.of(180, 40));
                        }
                    }
                    return null;
                });
            }
            for (Future<?> f : parts) {
                f.get(10, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private ObjectNode series(HttpClient http, HttpRequest request, boolean stale) throws Exception {
        double[] ms = new double[requests];
        for (int i = 0; i < requests; i++) {
            if (stale) {
                Thread.sleep(STALE.toMillis());
            }
            ms[i] = time(http, request);
        }
        Arrays.sort(ms);
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("p50_ms", round(ms[(ms.length - 1) / 2]));
        o.put("max_ms", round(ms[ms.length - 1]));
        return o;
    }

    private static double time(HttpClient http, HttpRequest request) throws IOException, InterruptedException {
        long start = System.nanoTime();
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        double ms = (System.nanoTime() - start) / 1e6;
        if (r.statusCode() != 200) {
            throw new IllegalStateException(request.uri() + " answered " + r.statusCode() + ": " + r.body());
        }
        return ms;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
