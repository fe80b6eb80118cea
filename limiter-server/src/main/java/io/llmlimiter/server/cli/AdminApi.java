package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.internal.ConfigJson;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The few admin REST calls the command line makes: create or replace a target's config with
 * {@code PUT /api/v1/targets/{provider}/{model}} under the admin's bearer token. The token is never
 * printed. This class is thread-safe.
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
        // A model's own slashes travel encoded, so a model ending in "/stats" still names the config.
        URI uri = URI.create(baseUrl + "/api/v1/targets/" + config.target().provider() + "/"
                + config.target().model().replace("/", "%2F"));
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(ConfigJson.write(config))).build();
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("the admin server answered HTTP " + r.statusCode() + " to PUT " + uri + ": "
                    + detail(r.body()));
        }
        return "HTTP " + r.statusCode() + " PUT " + uri;
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
