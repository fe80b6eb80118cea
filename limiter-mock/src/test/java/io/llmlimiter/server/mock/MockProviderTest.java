package io.llmlimiter.server.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class MockProviderTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private static final String CHAT = "/v1/chat/completions";
    private static final String MESSAGES = "/v1/messages";
    private static final String GO_DURATION = "\\d+ms|(\\d+h)?(\\d+m)?\\d+(\\.\\d+)?s";

    private MockProvider provider;

    @AfterEach
    void stop() {
        if (provider != null) {
            provider.close();
        }
    }

    @Test
    void aRequestWithinTheLimitsIsAnsweredWithUsageAndRateLimitHeaders() throws Exception {
        provider = MockProvider.start(MockProviderConfig.builder()
                .requests(5, Duration.ofSeconds(2))
                .tokens(10_000, Duration.ofSeconds(2))
                .build());

        // 41 characters -> ceil(41 / 4) = 11 prompt tokens; 60% of 100 -> 60 completion tokens.
        HttpResponse<String> r = post(CHAT, chat("x".repeat(41), 100));

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = MAPPER.readTree(r.body());
        assertThat(body.path("object").asText()).isEqualTo("chat.completion");
        assertThat(body.path("id").asText()).startsWith("chatcmpl-");
        assertThat(body.path("model").asText()).isEqualTo("gpt-test");
        assertThat(body.path("created").asLong()).isPositive();
        assertThat(body.at("/choices/0/message/role").asText()).isEqualTo("assistant");
        assertThat(body.at("/choices/0/message/content").asText()).isNotBlank();
        assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(body.at("/usage/prompt_tokens").asLong()).isEqualTo(11);
        assertThat(body.at("/usage/completion_tokens").asLong()).isEqualTo(60);
        assertThat(body.at("/usage/total_tokens").asLong()).isEqualTo(71);
        assertThat(header(r, "x-ratelimit-limit-requests")).isEqualTo("5");
        assertThat(header(r, "x-ratelimit-remaining-requests")).isEqualTo("4");
        assertThat(header(r, "x-ratelimit-reset-requests")).matches(GO_DURATION);
        assertThat(header(r, "x-ratelimit-limit-tokens")).isEqualTo("10000");
        assertThat(header(r, "x-ratelimit-remaining-tokens")).isEqualTo(String.valueOf(10_000 - 11 - 100));
        assertThat(header(r, "x-ratelimit-reset-tokens")).matches(GO_DURATION);
        assertThat(provider.totalCalls()).isEqualTo(1);
        assertThat(provider.successCount()).isEqualTo(1);
        assertThat(provider.admissions()).singleElement().satisfies(a -> {
            assertThat(a.tokens()).isEqualTo(111);
            assertThat(a.endpoint()).isEqualTo(CHAT);
        });
    }

    @Test
    void exceedingTheRequestLimitIsAnswered429WithRetryAfterAndHeaders() throws Exception {
        provider = MockProvider.start(MockProviderConfig.builder().requests(3, Duration.ofSeconds(10)).build());

        for (int i = 0; i < 3; i++) {
            assertThat(post(CHAT, chat("hello", 10)).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> r = post(CHAT, chat("hello", 10));

        assertThat(r.statusCode()).isEqualTo(429);
        JsonNode error = MAPPER.readTree(r.body()).path("error");
        assertThat(error.path("message").asText()).startsWith("Rate limit reached for requests");
        assertThat(error.path("type").asText()).isEqualTo("requests");
        assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(Long.parseLong(header(r, "Retry-After"))).isBetween(1L, 10L);
        assertThat(header(r, "x-ratelimit-limit-requests")).isEqualTo("3");
        assertThat(header(r, "x-ratelimit-remaining-requests")).isEqualTo("0");
        assertThat(header(r, "x-ratelimit-reset-requests")).matches(GO_DURATION);
        assertThat(provider.rateLimitedCount()).isEqualTo(1);
        assertThat(provider.successCount()).isEqualTo(3);
        assertThat(provider.admissions()).hasSize(3);
    }

    @Test
    void theTokenLimitRejectsARequestWhoseChargeDoesNotFit() throws Exception {
        provider = MockProvider.start(MockProviderConfig.builder().tokens(1000, Duration.ofSeconds(10)).build());
        String prompt = "y".repeat(100); // 25 prompt tokens, so each call below is charged 425

        HttpResponse<String> first = post(CHAT, chat(prompt, 400));
        HttpResponse<String> second = post(CHAT, chat(prompt, 400));
        HttpResponse<String> third = post(CHAT, chat(prompt, 400));

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(header(first, "x-ratelimit-remaining-tokens")).isEqualTo("575");
        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(third.statusCode()).isEqualTo(429);
        JsonNode error = MAPPER.readTree(third.body()).path("error");
        assertThat(error.path("type").asText()).isEqualTo("tokens");
        assertThat(error.path("message").asText()).startsWith("Rate limit reached for tokens");
        assertThat(header(third, "x-ratelimit-remaining-tokens")).isEqualTo("150");
        assertThat(header(third, "Retry-After")).isNotNull();
        // Without max_tokens the default 256 is charged: 25 + 256 > 150 left.
        assertThat(post(CHAT, chat(prompt, null)).statusCode()).isEqualTo(429);
        assertThat(post(CHAT, chat("z".repeat(4), 149)).statusCode()).isEqualTo(200);
    }

    @Test
    void aRequestLargerThanTheTokenLimitIsRejectedWithoutRetryAfter() throws Exception {
        provider = MockProvider.start(MockProviderConfig.builder().tokens(100, Duration.ofSeconds(1)).build());

        HttpResponse<String> r = post(CHAT, chat("hi", 500));

        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(MAPPER.readTree(r.body()).at("/error/message").asText()).startsWith("Request too large for tokens");
        assertThat(r.headers().firstValue("Retry-After")).isEmpty();
    }

    @Test
    void callsBeyondTheConcurrencyLimitAreRejectedWhileSlotsAreHeld() throws Exception {
        startWarm(MockProviderConfig.builder().maxConcurrency(2).latency(Duration.ofMillis(800)).build());

        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            calls.add(HTTP.sendAsync(request(CHAT, chat("parallel", 10)), HttpResponse.BodyHandlers.ofString()));
        }
        List<HttpResponse<String>> responses = calls.stream().map(CompletableFuture::join).toList();

        List<HttpResponse<String>> rejected = responses.stream().filter(r -> r.statusCode() == 429).toList();
        assertThat(responses).extracting(HttpResponse::statusCode).containsOnly(200, 429);
        assertThat(provider.maxConcurrencyObserved()).isEqualTo(2);
        assertThat(provider.successCount()).isGreaterThanOrEqualTo(2);
        assertThat(rejected).isNotEmpty();
        assertThat(MAPPER.readTree(rejected.get(0).body()).at("/error/message").asText()).contains("concurrent");
        assertThat(rejected.get(0).headers().firstValue("Retry-After")).isPresent();
        assertThat(provider.inFlight()).isZero();
    }

    @Test
    void theSlidingWindowFreesCapacityOnceTheWindowHasPassed() throws Exception {
        Duration window = Duration.ofMillis(300);
        startWarm(MockProviderConfig.builder().requests(2, window).build());

        // Fill the window; a slow machine may need more than two calls to see it full.
        HttpResponse<String> rejected = post(CHAT, chat("a", 1));
        for (int i = 0; i < 20 && rejected.statusCode() == 200; i++) {
            rejected = post(CHAT, chat("a", 1));
        }
        assertThat(rejected.statusCode()).isEqualTo(429);
        assertThat(Long.parseLong(header(rejected, "retry-after-ms"))).isBetween(1L, 300L);
        int admittedBefore = provider.admissions().size();

        await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
                .until(() -> post(CHAT, chat("b", 1)).statusCode() == 200);

        List<Admission> admitted = provider.admissions();
        assertThat(admitted).hasSize(admittedBefore + 1);
        Admission freed = admitted.get(admitted.size() - 1);
        Admission twoBefore = admitted.get(admitted.size() - 3);
        assertThat(freed.nanoTime() - twoBefore.nanoTime()).isGreaterThanOrEqualTo(window.toNanos());
        assertThat(provider.maxRequestsInAnyWindow(window)).isEqualTo(2);
    }

    @Test
    void theAnthropicEndpointAnswersInTheMessagesShapeWithAnthropicHeaders() throws Exception {
        provider = MockProvider.start(MockProviderConfig.builder()
                .requests(1, Duration.ofSeconds(10))
                .tokens(5000, Duration.ofSeconds(10))
                .completionTokens(40)
                .build());
        ObjectNode body = MAPPER.createObjectNode().put("model", "claude-test").put("max_tokens", 100)
                .put("system", "be brief"); // 8 characters
        body.putArray("messages").addObject().put("role", "user").put("content", "hello there!"); // 12 characters

        HttpResponse<String> r = post(MESSAGES, body.toString());

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode json = MAPPER.readTree(r.body());
        assertThat(json.path("id").asText()).startsWith("msg_");
        assertThat(json.path("type").asText()).isEqualTo("message");
        assertThat(json.path("role").asText()).isEqualTo("assistant");
        assertThat(json.path("model").asText()).isEqualTo("claude-test");
        assertThat(json.at("/content/0/type").asText()).isEqualTo("text");
        assertThat(json.at("/content/0/text").asText()).isNotBlank();
        assertThat(json.path("stop_reason").asText()).isEqualTo("end_turn");
        assertThat(json.at("/usage/input_tokens").asLong()).isEqualTo(5);
        assertThat(json.at("/usage/output_tokens").asLong()).isEqualTo(40);
        assertThat(json.at("/usage/cache_read_input_tokens").asLong()).isZero();
        assertThat(header(r, "anthropic-ratelimit-requests-limit")).isEqualTo("1");
        assertThat(header(r, "anthropic-ratelimit-requests-remaining")).isEqualTo("0");
        assertThat(OffsetDateTime.parse(header(r, "anthropic-ratelimit-requests-reset"))).isAfter(OffsetDateTime.now());
        assertThat(header(r, "anthropic-ratelimit-tokens-remaining")).isEqualTo(String.valueOf(5000 - 105));
        assertThat(OffsetDateTime.parse(header(r, "anthropic-ratelimit-tokens-reset"))).isNotNull();
        assertThat(r.headers().firstValue("x-ratelimit-limit-requests")).isEmpty();

        HttpResponse<String> limited = post(MESSAGES, body.toString());

        assertThat(limited.statusCode()).isEqualTo(429);
        JsonNode error = MAPPER.readTree(limited.body());
        assertThat(error.path("type").asText()).isEqualTo("error");
        assertThat(error.at("/error/type").asText()).isEqualTo("rate_limit_error");
        assertThat(error.at("/error/message").asText()).isNotBlank();
        assertThat(Long.parseLong(header(limited, "retry-after"))).isBetween(1L, 10L);
    }

    @Test
    void malformedOrIncompleteBodiesAreAnswered400InTheProvidersErrorShape() throws Exception {
        provider = MockProvider.start(MockProviderConfig.builder().requests(100, Duration.ofSeconds(1)).build());

        HttpResponse<String> badJson = post(CHAT, "{\"model\": \"m\", \"messages\": [");
        HttpResponse<String> noMessages = post(CHAT, "{\"model\": \"m\"}");
        HttpResponse<String> badAnthropic = post(MESSAGES, "not json");
        HttpResponse<String> noMaxTokens = post(MESSAGES, chat("hi", null));

        assertThat(badJson.statusCode()).isEqualTo(400);
        assertThat(MAPPER.readTree(badJson.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(noMessages.statusCode()).isEqualTo(400);
        assertThat(MAPPER.readTree(noMessages.body()).at("/error/param").asText()).isEqualTo("messages");
        assertThat(badAnthropic.statusCode()).isEqualTo(400);
        assertThat(MAPPER.readTree(badAnthropic.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(noMaxTokens.statusCode()).isEqualTo(400);
        assertThat(MAPPER.readTree(noMaxTokens.body()).at("/error/message").asText()).contains("max_tokens");
        assertThat(provider.admissions()).isEmpty();
        assertThat(provider.countByStatus(400)).isEqualTo(4);
    }

    @Test
    void injectedFaultsAnswerTheGivenStatusTheGivenNumberOfTimes() throws Exception {
        provider = MockProvider.start(MockProviderConfig.defaults());
        provider.failNext(503, 2);
        provider.failNext(529, 1);

        HttpResponse<String> first = post(CHAT, chat("a", 5));
        HttpResponse<String> second = post(CHAT, chat("a", 5));
        HttpResponse<String> overloaded = post(MESSAGES, chat("a", 5));
        HttpResponse<String> ok = post(CHAT, chat("a", 5));

        assertThat(first.statusCode()).isEqualTo(503);
        assertThat(MAPPER.readTree(first.body()).at("/error/type").asText()).isEqualTo("server_error");
        assertThat(second.statusCode()).isEqualTo(503);
        assertThat(overloaded.statusCode()).isEqualTo(529);
        assertThat(MAPPER.readTree(overloaded.body()).at("/error/type").asText()).isEqualTo("overloaded_error");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(provider.pendingFaults()).isZero();
        assertThat(provider.admissions()).hasSize(1);
    }

    @Test
    void reconfiguringAppliesTheNewLimitsToTheNextRequest() throws Exception {
        provider = MockProvider.start(MockProviderConfig.defaults());
        assertThat(post(CHAT, chat("a", 5)).statusCode()).isEqualTo(200);

        provider.reconfigure(provider.config().toBuilder().requests(1, Duration.ofSeconds(10)).build());
        provider.resetCounters();

        assertThat(post(CHAT, chat("a", 5)).statusCode()).isEqualTo(200);
        assertThat(post(CHAT, chat("a", 5)).statusCode()).isEqualTo(429);
        assertThat(provider.totalCalls()).isEqualTo(2);
        provider.resetWindows();
        assertThat(post(CHAT, chat("a", 5)).statusCode()).isEqualTo(200);
    }

    @Test
    void withAnArrivalDelayEachRequestIsCountedARandomZeroToMaxAfterItWasSent() throws Exception {
        startWarm(MockProviderConfig.builder().requests(1000, Duration.ofSeconds(10))
                .arrivalDelay(Duration.ofMillis(100)).build());
        List<Long> delays = new ArrayList<>();

        for (int i = 0; i < 40; i++) {
            long sent = System.nanoTime();
            assertThat(post(CHAT, chat("a", 5)).statusCode()).isEqualTo(200);
            List<Admission> all = provider.admissions();
            delays.add(all.get(all.size() - 1).nanoTime() - sent);
        }

        // Uniform on 0..100 ms: a mean near 50 ms and a wide spread; without the delay both stay near 0.
        double meanMs = delays.stream().mapToLong(Long::longValue).average().orElseThrow() / 1e6;
        long spreadMs = (delays.stream().mapToLong(Long::longValue).max().orElseThrow()
                - delays.stream().mapToLong(Long::longValue).min().orElseThrow()) / 1_000_000;
        assertThat(delays).allSatisfy(d -> assertThat(d).isPositive());
        assertThat(meanMs).as("mean delay in ms of %s", delays).isGreaterThan(25);
        assertThat(spreadMs).as("spread in ms").isGreaterThan(30);
        assertThat(provider.config().toString()).contains("arrivalDelay=0..100ms");
    }

    @Test
    void everyRequestReceivedIsCountedWhateverItsMethodOrPath() throws Exception {
        provider = MockProvider.start(MockProviderConfig.defaults());

        HTTP.send(HttpRequest.newBuilder(URI.create(provider.baseUrl() + CHAT)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        post(CHAT, "{}");
        post(CHAT, chat("a", 5));
        post("/v1/elsewhere", chat("a", 5));

        assertThat(provider.requestsReceived()).isEqualTo(4);
        assertThat(provider.successCount()).isEqualTo(1);
        provider.resetCounters();
        assertThat(provider.requestsReceived()).isZero();
    }

    /** Starts the provider and makes one unlimited call first, so that JVM warm-up does not eat a short window. */
    private void startWarm(MockProviderConfig config) throws Exception {
        provider = MockProvider.start(MockProviderConfig.defaults());
        assertThat(post(CHAT, chat("warm up", 1)).statusCode()).isEqualTo(200);
        provider.reconfigure(config);
        provider.resetCounters();
    }

    @Test
    void anOpenAiStreamEndsWithTheUsageChunkWhenAskedFor() throws Exception {
        provider = MockProvider.start(MockProviderConfig.builder()
                .requests(5, Duration.ofSeconds(2))
                .tokens(10_000, Duration.ofSeconds(2))
                .build());
        ObjectNode req = (ObjectNode) MAPPER.readTree(chat("x".repeat(41), 100));
        req.put("stream", true);
        req.putObject("stream_options").put("include_usage", true);

        HttpResponse<String> r = post(CHAT, req.toString());

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(header(r, "Content-Type")).startsWith("text/event-stream");
        assertThat(header(r, "x-ratelimit-remaining-requests")).isEqualTo("4");
        List<String> data = dataLines(r.body());
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        List<JsonNode> chunks = new ArrayList<>();
        for (String d : data.subList(0, data.size() - 1)) {
            chunks.add(MAPPER.readTree(d));
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            assertThat(c.path("object").asText()).isEqualTo("chat.completion.chunk");
            text.append(c.at("/choices/0/delta/content").asText(""));
        }
        assertThat(chunks.get(0).at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        assertThat(text.toString()).startsWith("mock answer");
        JsonNode last = chunks.get(chunks.size() - 1);
        assertThat(last.path("choices")).isEmpty();
        assertThat(last.at("/usage/prompt_tokens").asLong()).isEqualTo(11);
        assertThat(last.at("/usage/completion_tokens").asLong()).isEqualTo(60);
        assertThat(chunks.get(chunks.size() - 2).at("/choices/0/finish_reason").asText()).isEqualTo("stop");

        req.remove("stream_options");
        List<String> withoutUsage = dataLines(post(CHAT, req.toString()).body());
        assertThat(withoutUsage).noneMatch(d -> d.contains("\"usage\""));
    }

    @Test
    void anAnthropicStreamReportsOutputTokensInMessageDelta() throws Exception {
        provider = MockProvider.start(MockProviderConfig.builder()
                .requests(5, Duration.ofSeconds(2))
                .tokens(10_000, Duration.ofSeconds(2))
                .build());
        ObjectNode req = (ObjectNode) MAPPER.readTree(chat("x".repeat(41), 100));
        req.put("stream", true);

        HttpResponse<String> r = post(MESSAGES, req.toString());

        assertThat(r.statusCode()).isEqualTo(200);
        List<String> events = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("event: ")) {
                events.add(line.substring(7));
            }
        }
        assertThat(events).startsWith("message_start", "content_block_start", "content_block_delta")
                .endsWith("content_block_stop", "message_delta", "message_stop");
        List<String> data = dataLines(r.body());
        assertThat(MAPPER.readTree(data.get(0)).at("/message/usage/input_tokens").asLong()).isEqualTo(11);
        JsonNode delta = MAPPER.readTree(data.get(data.size() - 2));
        assertThat(delta.at("/usage/output_tokens").asLong()).isEqualTo(60);
        assertThat(delta.at("/delta/stop_reason").asText()).isEqualTo("end_turn");
    }

    @Test
    void aStreamedRequestIsAdmittedAndRefusedLikeAnyOther() throws Exception {
        provider = MockProvider.start(MockProviderConfig.builder()
                .requests(1, Duration.ofSeconds(30))
                .tokens(10_000, Duration.ofSeconds(30))
                .build());
        ObjectNode req = (ObjectNode) MAPPER.readTree(chat("hello", 10));
        req.put("stream", true);

        assertThat(post(CHAT, req.toString()).statusCode()).isEqualTo(200);
        HttpResponse<String> refused = post(CHAT, req.toString());

        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(header(refused, "Retry-After")).isNotNull();
        assertThat(MAPPER.readTree(refused.body()).at("/error/code").asText()).isEqualTo("rate_limit_exceeded");
        req.put("stream", "yes");
        assertThat(post(CHAT, req.toString()).statusCode()).isEqualTo(400);
    }

    private static List<String> dataLines(String sse) {
        List<String> data = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: ")) {
                data.add(line.substring(6));
            }
        }
        return data;
    }

    private HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return HTTP.send(request(path, body), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest request(String path, String body) {
        return HttpRequest.newBuilder(URI.create(provider.baseUrl() + path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    private static String chat(String content, Integer maxTokens) {
        ObjectNode body = MAPPER.createObjectNode().put("model", "gpt-test");
        body.putArray("messages").addObject().put("role", "user").put("content", content);
        if (maxTokens != null) {
            body.put("max_tokens", maxTokens);
        }
        return body.toString();
    }

    private static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }
}
