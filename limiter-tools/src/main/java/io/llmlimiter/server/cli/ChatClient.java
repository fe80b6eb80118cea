package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A minimal OpenAI-compatible chat client for the command line: one user message, a
 * {@code max_tokens}, the API key (if any) as {@code Authorization: Bearer}. It returns every
 * response, whatever its status, for the caller to judge. The key is never logged or printed.
 * This class is thread-safe.
 */
public final class ChatClient {

    /** Single-token words of four characters (with the leading space) in cl100k and o200k. */
    private static final String[] WORDS = {"the", "and", "for", "are", "but", "not", "you", "all", "any", "can",
        "her", "was", "one", "our", "out", "day", "get", "has", "him", "his", "how", "man", "new", "now", "old",
        "see", "two", "way", "who", "boy", "did", "its", "let", "put", "say", "she", "too", "use", "big", "red",
        "sun", "sky", "sea", "cat", "dog", "car", "run", "end", "top", "low"};

    private final HttpClient http;
    private final URI endpoint;
    private final String model;
    private final String apiKey;
    private final Duration timeout;

    /**
     * @param baseUrl {@code http://host:port} ({@code /v1/chat/completions} is appended) or a base
     *     that already has a path such as {@code https://api.openai.com/v1} ({@code /chat/completions} is appended)
     * @param model the model name sent in the body
     * @param apiKey the API key, or null to send none
     * @param timeout how long one call may take
     */
    public ChatClient(String baseUrl, String model, String apiKey, Duration timeout) {
        this.endpoint = endpoint(baseUrl);
        this.model = Objects.requireNonNull(model, "model");
        this.apiKey = apiKey == null || apiKey.isBlank() ? null : apiKey;
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    /**
     * @param baseUrl a base URL as the constructor takes it
     * @return the chat completions URL
     */
    public static URI endpoint(String baseUrl) {
        String base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        String path = URI.create(base).getPath();
        return URI.create(base + (path == null || path.isEmpty() ? "/v1/chat/completions" : "/chat/completions"));
    }

    /**
     * A prompt of exactly {@code tokens} tokens for OpenAI's tokenizers, and as many for a
     * provider that estimates four characters per token (as OpenAI's rate limiter and the mock do).
     *
     * @param tokens the prompt size in tokens, 1 or more
     * @return the prompt text
     */
    public static String prompt(int tokens) {
        StringBuilder b = new StringBuilder(tokens * 4);
        for (int i = 0; i < tokens; i++) {
            b.append(' ').append(WORDS[(i * 7) % WORDS.length]);
        }
        return b.toString();
    }

    /**
     * Sends one chat completion request.
     *
     * @param prompt the user message
     * @param maxTokens the request's {@code max_tokens}
     * @return the response, any status
     * @throws IOException when the endpoint cannot be reached or the call times out
     * @throws InterruptedException when interrupted
     */
    public HttpResponse<String> send(String prompt, long maxTokens) throws IOException, InterruptedException {
        ObjectNode body = CliSupport.JSON.createObjectNode();
        body.put("model", model);
        body.putArray("messages").addObject().put("role", "user").put("content", prompt);
        body.put("max_tokens", maxTokens);
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint).timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Opens {@code connections} pooled connections before calls made at once, with a GET of the
     * endpoint (answered 404 or 405 before any charge by the providers known here). Only the probe
     * uses it: it runs outside any budget by design, so this request is never sent by a workload.
     * Failures are ignored: the calls will report them.
     *
     * @param connections how many connections to open at once
     */
    public void warmUp(int connections) {
        HttpRequest get = HttpRequest.newBuilder(endpoint).timeout(Duration.ofSeconds(5)).GET().build();
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            calls.add(http.sendAsync(get, HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            try {
                c.get(6, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException | TimeoutException e) {
                // Unreachable endpoints show up in the calls themselves, with the real error.
            }
        }
    }

    /** @return the URL called */
    public URI endpoint() {
        return endpoint;
    }

    /** @return e.g. {@code ChatClient[http://127.0.0.1:8080/v1/chat/completions]}, without the key */
    @Override
    public String toString() {
        return "ChatClient[" + endpoint + "]";
    }
}
