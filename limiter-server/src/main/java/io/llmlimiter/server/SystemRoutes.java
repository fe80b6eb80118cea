package io.llmlimiter.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.server.ProblemException.Kind;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET /health} (Redis reachable, and its latency) and {@code GET /openapi.json}, which need
 * no token, and {@code GET /metrics} (Prometheus text), which needs the admin token on the main
 * port and none on the separate metrics listener ({@link AdminServer.Builder#metricsPort}). None of
 * them shows a config, a token or a key. Thread-safe.
 */
final class SystemRoutes {

    /** Redis reachability and latency. */
    static final String HEALTH = "/health";
    /** Prometheus text. */
    static final String METRICS = "/metrics";
    /** The OpenAPI document of every route. */
    static final String OPENAPI = "/openapi.json";

    private final ConfigStore store;
    private final ServerMetrics metrics;
    private final PrometheusMeterRegistry prometheus;
    private final byte[] openApi;

    /**
     * @param store the store
     * @param metrics the server's meters
     */
    SystemRoutes(ConfigStore store, ServerMetrics metrics) {
        this.store = store;
        this.metrics = metrics;
        this.prometheus = findPrometheus(metrics.registry());
        this.openApi = resource("openapi.json");
    }

    /** @param r where the routes are added */
    void register(RoutesConfig r) {
        r.get(HEALTH, this::health);
        r.get(METRICS, this::metrics);
        r.get(OPENAPI, ctx -> ctx.contentType(Bodies.JSON).result(openApi));
    }

    private void health(Context ctx) {
        RedisHealth h = RedisHealth.check(store.admin());
        ObjectNode out = ConfigJson.MAPPER.createObjectNode();
        out.put("status", h.reachable() ? "UP" : "DOWN");
        ObjectNode redis = out.putObject("redis");
        redis.put("reachable", h.reachable());
        if (h.reachable()) {
            redis.put("latency_ms", h.latency().toNanos() / 1e6);
        }
        Bodies.send(ctx, h.reachable() ? 200 : 503, out);
    }

    /** @param ctx a {@code GET /metrics} */
    void metrics(Context ctx) throws IOException {
        if (prometheus == null) {
            throw new ProblemException(Kind.NOT_FOUND, "This server's meters go to a registry other than Prometheus.");
        }
        metrics.refresh();
        // Bytes straight from the registry: at a thousand targets the text is megabytes, not worth a String copy.
        ByteArrayOutputStream body = new ByteArrayOutputStream(1 << 16);
        prometheus.scrape(body);
        ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(body.toByteArray());
    }

    private static PrometheusMeterRegistry findPrometheus(MeterRegistry registry) {
        if (registry instanceof PrometheusMeterRegistry p) {
            return p;
        }
        if (registry instanceof CompositeMeterRegistry c) {
            for (MeterRegistry r : c.getRegistries()) {
                PrometheusMeterRegistry p = findPrometheus(r);
                if (p != null) {
                    return p;
                }
            }
        }
        return null;
    }

    /**
     * @param name a resource next to this class
     * @return its bytes
     */
    static byte[] resource(String name) {
        try (InputStream in = SystemRoutes.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the server jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @param name a resource next to this class
     * @return its text
     */
    static String text(String name) {
        return new String(resource(name), StandardCharsets.UTF_8);
    }
}
