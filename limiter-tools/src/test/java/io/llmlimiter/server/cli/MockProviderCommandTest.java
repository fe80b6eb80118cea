package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.testing.JvmProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code mock-provider} runs the mock on its own, as a real process, with the limits it was given. */
class MockProviderCommandTest {

    private static final Pattern LISTENING = Pattern.compile("mock provider listening on (http://127\\.0\\.0\\.1:\\d+)");
    private static final String BODY = """
            {"model":"m","messages":[{"role":"user","content":"hello"}],"max_tokens":10}""";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void theStandaloneMockEnforcesItsRequestWindowConcurrencyCapLatencyAndHeaders() throws Exception {
        try (JvmProcess mock = JvmProcess.start(Main.class, "mock-provider", "--port", "0",
                "--limits", "requests=2/60s,tokens=100000/60s", "--max-concurrent", "1", "--latency", "2s",
                "--headers", "openai")) {
            String[] baseUrl = new String[1];
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                assertThat(mock.process().isAlive()).as(mock.output()).isTrue();
                Matcher m = LISTENING.matcher(mock.output());
                assertThat(m.find()).as(mock.output()).isTrue();
                baseUrl[0] = m.group(1);
            });
            assertThat(mock.output()).contains("requests=2/60s, tokens=100000/60s; 1 at once; latency 2000 ms");
            URI chat = URI.create(baseUrl[0] + "/v1/chat/completions");

            long started = System.nanoTime();
            CompletableFuture<HttpResponse<String>> first = http.sendAsync(post(chat), HttpResponse.BodyHandlers.ofString());
            Thread.sleep(700);
            HttpResponse<String> second = http.send(post(chat), HttpResponse.BodyHandlers.ofString());
            assertThat(second.statusCode()).as(second.body()).isEqualTo(429);
            assertThat(second.body()).contains("concurrent");

            HttpResponse<String> ok = first.join();
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
            assertThat(ok.headers().firstValue("x-ratelimit-limit-requests")).hasValue("2");
            assertThat(ok.body()).contains("\"choices\"");

            // The refusal for concurrency left no trace: one more request fits the window, then it is full.
            assertThat(http.send(post(chat), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            HttpResponse<String> full = http.send(post(chat), HttpResponse.BodyHandlers.ofString());
            assertThat(full.statusCode()).isEqualTo(429);
            assertThat(full.headers().firstValue("retry-after").map(Long::parseLong).orElseThrow())
                    .isBetween(1L, 60L);
            assertThat(mock.process().isAlive()).isTrue();
        }
    }

    private static HttpRequest post(URI uri) {
        return HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build();
    }
}
