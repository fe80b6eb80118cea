package io.llmlimiter.server.mock;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Streamed answers: server-sent events in each provider's shape, with the usage at the end. */
class MockProviderStreamTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private final MockProvider provider = MockProvider.start(MockProviderConfig.builder().completionTokens(9).build());

    @AfterEach
    void stop() {
        provider.close();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(provider.baseUrl() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static List<String> data(String sse) {
        List<String> out = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: ")) {
                out.add(line.substring(6));
            }
        }
        return out;
    }

    @Test
    void anOpenAiStreamEndsWithAUsageChunkWhenAskedAndThenDone() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", "{\"model\":\"m\",\"max_tokens\":50,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"12345678\"}]}");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        List<String> data = data(r.body());
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        JsonNode usage = MAPPER.readTree(data.get(data.size() - 2)).path("usage");
        assertThat(usage.path("prompt_tokens").asLong()).isEqualTo(2);
        assertThat(usage.path("completion_tokens").asLong()).isEqualTo(9);
        StringBuilder text = new StringBuilder();
        for (String d : data.subList(0, data.size() - 2)) {
            JsonNode chunk = MAPPER.readTree(d);
            assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
            text.append(chunk.path("choices").path(0).path("delta").path("content").asText(""));
        }
        assertThat(text.toString()).isEqualTo(ProviderEndpoint.completionText(9));
    }

    @Test
    void anOpenAiStreamHasNoUsageChunkUnlessAsked() throws Exception {
        List<String> data = data(post("/v1/chat/completions", "{\"model\":\"m\",\"max_tokens\":50,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").body());
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        assertThat(data).noneMatch(d -> d.contains("\"usage\""));
    }

    @Test
    void anAnthropicStreamReportsInputAtTheStartAndOutputInTheLastDelta() throws Exception {
        HttpResponse<String> r = post("/v1/messages", "{\"model\":\"c\",\"max_tokens\":50,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"12345678\"}]}");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("event: message_start", "event: content_block_delta", "event: message_stop");
        List<String> data = data(r.body());
        assertThat(MAPPER.readTree(data.get(0)).path("message").path("usage").path("input_tokens").asLong()).isEqualTo(2);
        JsonNode delta = MAPPER.readTree(data.get(data.size() - 2));
        assertThat(delta.path("type").asText()).isEqualTo("message_delta");
        assertThat(delta.path("usage").path("output_tokens").asLong()).isEqualTo(9);
    }

    @Test
    void aStreamThatIsNotABooleanIsABadRequest() throws Exception {
        assertThat(post("/v1/messages", "{\"model\":\"c\",\"max_tokens\":5,\"stream\":\"yes\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}").statusCode()).isEqualTo(400);
    }
}
