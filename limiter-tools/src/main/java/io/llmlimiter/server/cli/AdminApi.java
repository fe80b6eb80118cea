package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.server.ConfigDocument;
import io.llmlimiter.server.ProbeRecord;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The few admin REST calls the command line makes under the admin's bearer token: create or replace
 * a target's config ({@code PUT /api/v1/targets/{provider}/{model}}), and merge a probe's findings
 * into it ({@code PATCH}, a JSON merge patch). The token is never printed. This class is thread-safe.
 */
public final class AdminApi {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String baseUrl;
    private final String token;

    /**
     * @param baseUrl the admin server, e.g. {@code http://127.0.0.1:7070}
     * @param token the admin token
     */
    public AdminApi(String baseUrl, String token) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.token = token;
    }

    /**
     * Creates or replaces a target's config, as the dashboard's form does.
     *
     * @param config the config
     * @return e.g. {@code HTTP 200 PUT http://127.0.0.1:7070/api/v1/targets/mock/gpt-4o-mini}
     * @throws IOException when the server cannot be reached or refuses, with its problem detail
     * @throws InterruptedException when interrupted
     */
    public String putConfig(LimitConfig config) throws IOException, InterruptedException {
        return put(config.target(), ConfigJson.write(config));
    }

    private String put(Target target, String body) throws IOException, InterruptedException {
        URI uri = uri(target);
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("the admin server answered HTTP " + r.statusCode() + " to PUT " + uri + ": "
                    + detail(r.body()));
        }
        return "HTTP " + r.statusCode() + " PUT " + uri;
    }

    /**
     * Merges what a probe measured into a target's config, keeping every other setting (accounting,
     * retry, lease TTL, margin): a JSON merge patch of the limits, the probe's bookkeeping and, when
     * the probe found a concurrency cap, {@code max_concurrent}. A target without config is created
     * from {@code measured} as a whole.
     *
     * @param measured the config the probe suggests, with its probe record
     * @param withConcurrency whether the probe found a concurrency cap to write
     * @return e.g. {@code HTTP 200 PATCH http://127.0.0.1:7070/api/v1/targets/mock/gpt-4o-mini}
     * @throws IOException when the server cannot be reached or refuses, with its problem detail
     * @throws InterruptedException when interrupted
     */
    public String mergeMeasured(ConfigDocument measured, boolean withConcurrency) throws IOException,
            InterruptedException {
        URI uri = uri(measured.target());
        ObjectNode all = measured.tree();
        ObjectNode patch = CliSupport.JSON.createObjectNode();
        List<String> fields = new ArrayList<>(List.of("limits"));
        fields.addAll(ProbeRecord.FIELDS);
        for (String field : fields) {
            if (all.has(field)) {
                patch.set(field, all.get(field));
            }
        }
        if (withConcurrency) {
            patch.set("max_concurrent", all.get("max_concurrent"));
        }
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/merge-patch+json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString(patch.toString())).build();
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 404) {
            return put(measured.target(), measured.json());
        }
        if (r.statusCode() / 100 != 2) {
            throw new IOException("the admin server answered HTTP " + r.statusCode() + " to PATCH " + uri + ": "
                    + detail(r.body()));
        }
        return "HTTP " + r.statusCode() + " PATCH " + uri;
    }

    private URI uri(Target target) {
        // A model's own slashes travel encoded, so a model ending in "/stats" still names the config.
        return URI.create(baseUrl + "/api/v1/targets/" + target.provider() + "/"
                + target.model().replace("/", "%2F"));
    }

    private static String detail(String body) {
        try {
            JsonNode problem = CliSupport.JSON.readTree(body);
            if (problem.path("detail").isTextual()) {
                return problem.path("detail").asText();
            }
        } catch (IOException e) {
            // Not a problem document: show the body.
        }
        return body == null || body.length() <= 300 ? String.valueOf(body) : body.substring(0, 300);
    }
}
