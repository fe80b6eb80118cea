package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.Durations;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code health-check}: asks a running admin server's {@code GET /health} and exits 0 when it says
 * {@code UP} (Redis reachable), 1 otherwise. It is the container healthcheck: the image has a JVM
 * and this jar, and needs no curl. Not thread-safe: picocli runs one instance once.
 */
@Command(name = "health-check", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Exit 0 when a running admin server's /health says UP (Redis reachable), 1 otherwise.",
            "For container healthchecks: needs only this jar."})
public final class HealthCheckCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--url", defaultValue = "http://127.0.0.1:7070/health", paramLabel = "URL",
            description = "The server's health URL (default: ${DEFAULT-VALUE}).")
    private String url;

    @Option(names = "--timeout", defaultValue = "5s", paramLabel = "DURATION",
            description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    private String timeout;

    /** @return 0 when UP, 1 otherwise */
    @Override
    public Integer call() {
        String health = CliSupport.httpUrl(spec, "--url", url);
        Duration limit;
        try {
            limit = Durations.parse("--timeout", timeout);
        } catch (IllegalArgumentException e) {
            throw CliSupport.bad(spec, "--timeout", e.getMessage());
        }
        if (limit.isZero() || limit.compareTo(Duration.ofMinutes(5)) > 0) {
            throw CliSupport.bad(spec, "--timeout", "must be between 1ms and 5m, got " + timeout);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        HttpClient http = HttpClient.newBuilder().connectTimeout(limit).build();
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(health)).timeout(limit).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode body = r.statusCode() == 200 || r.statusCode() == 503 ? CliSupport.JSON.readTree(r.body()) : null;
            String status = body == null ? "" : body.path("status").asText("");
            if (r.statusCode() == 200 && status.equals("UP")) {
                out.println("UP " + health);
                out.flush();
                return 0;
            }
            err.println("DOWN " + health + ": HTTP " + r.statusCode() + (status.isEmpty() ? "" : " " + status));
        } catch (IOException e) {
            err.println("DOWN " + health + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("DOWN " + health + ": interrupted");
        }
        err.flush();
        return 1;
    }
}
