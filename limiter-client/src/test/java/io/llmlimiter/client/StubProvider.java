package io.llmlimiter.client;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local HTTP provider for tests: answers each call with the next scripted response, or 200
 * with an OpenAI-style usage body when the script is empty.
 */
final class StubProvider implements AutoCloseable {

    record Reply(int status, Map<String, String> headers, String body) {
    }

    static final String OK_BODY = "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"message\":"
            + "{\"role\":\"assistant\",\"content\":\"hi\"}}],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,"
            + "\"total_tokens\":150}}";

    private final HttpServer server;
    private final ConcurrentLinkedDeque<Reply> script = new ConcurrentLinkedDeque<>();
    private final AtomicInteger calls = new AtomicInteger();
    private final HttpClient http = HttpClient.newHttpClient();

    StubProvider() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            calls.incrementAndGet();
            Reply r = script.poll();
            if (r == null) {
                r = new Reply(200, Map.of("content-type", "application/json"), OK_BODY);
            }
            r.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
            byte[] body = r.body().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(r.status(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    StubProvider then(int status, Map<String, String> headers, String body) {
        script.add(new Reply(status, headers, body));
        return this;
    }

    int calls() {
        return calls.get();
    }

    /** One chat call the way a user would write it: non-2xx responses throw with status, headers, body. */
    String chat(CallContext ctx) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + server.getAddress().getPort() + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) {
            throw new io.llmlimiter.client.retry.HttpStatusException(r);
        }
        ctx.headers(r.headers().map());
        Usage.fromResponseBody(r.body()).ifPresent(ctx::usage);
        return r.body();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
