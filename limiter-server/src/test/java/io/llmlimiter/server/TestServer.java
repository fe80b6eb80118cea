package io.llmlimiter.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.internal.ConfigJson;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** An admin server on a free port over a test Redis, with a temporary data directory, and an HTTP client for it. */
final class TestServer implements AutoCloseable {

    static final String TOKEN = "test-admin-token-0123456789abcdef";

    final LlmLimiter limiter;
    final AdminServer server;
    final Path dir;
    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private TestServer(String redisUri, Path dir, Duration reconcile) throws IOException {
        this.dir = dir;
        this.limiter = LlmLimiter.builder().redis(redisUri).build();
        this.server = AdminServer.builder().admin(limiter.admin()).redis(redisUri).token(TOKEN).configFile(dir.resolve("llm_configs.json"))
                .meterRegistry(registry).host("127.0.0.1").port(0).reconcileInterval(reconcile).start();
    }

    static TestServer start(String redisUri) throws IOException {
        return start(redisUri, Files.createTempDirectory("llmlim-server-test-"), Duration.ofMillis(200));
    }

    static TestServer start(String redisUri, Path dir, Duration reconcile) throws IOException {
        return new TestServer(redisUri, dir, reconcile);
    }

    Path configFile() {
        return dir.resolve("llm_configs.json");
    }

    Path auditLog() {
        return dir.resolve("audit.log");
    }

    HttpResponse<String> get(String path) {
        return send("GET", path, null, null, TOKEN);
    }

    HttpResponse<String> send(String method, String path, String body) {
        return send(method, path, body, body == null ? null : "application/json", TOKEN);
    }

    HttpResponse<String> send(String method, String path, String body, String contentType, String token) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(10));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(HttpResponse<String> r) {
        try {
            return ConfigJson.MAPPER.readTree(r.body());
        } catch (JsonProcessingException e) {
            throw new AssertionError("not JSON (" + r.statusCode() + "): " + r.body(), e);
        }
    }

    static JsonNode json(String text) {
        try {
            return ConfigJson.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    @Override
    public void close() {
        server.close();
        limiter.close();
    }
}
