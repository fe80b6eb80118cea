package io.llmlimiter.client.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.TokenEstimator;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ModelRequestTest {

    private static Optional<ModelRequest> read(String path, String json) {
        return ModelRequest.read(path, "application/json; charset=utf-8", json.getBytes(StandardCharsets.UTF_8), 700);
    }

    @Test
    void anOpenAiChatRequestIsEstimatedFromItsMessagesAndItsMaximum() {
        ModelRequest r = read("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"max_completion_tokens\":300,"
                + "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"text\",\"text\":\"Hello there\"}]}],\"stream\":true}").orElseThrow();

        long input = TokenEstimator.forModel("gpt-4o").countChat(List.of(Map.entry("system", "Be brief."),
                Map.entry("user", "Hello there")));
        assertThat(r.model()).isEqualTo("gpt-4o");
        assertThat(r.estimate()).isEqualTo(Estimate.of(input, 300));
        assertThat(r.stream()).isTrue();
    }

    @Test
    void anAnthropicRequestCountsItsSystemPromptAndNTimesTheOutput() {
        ModelRequest r = read("/v1/messages", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":100,\"system\":"
                + "\"You are terse.\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}").orElseThrow();
        TokenEstimator e = TokenEstimator.forModel("claude-sonnet-4-5");
        long input = e.countChat(List.of(Map.entry("user", "Hi"))) + e.countTokens("You are terse.");
        assertThat(r.estimate()).isEqualTo(Estimate.of(input, 100));
        assertThat(r.stream()).isFalse();

        ModelRequest n = read("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"n\":3,\"max_tokens\":10,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}").orElseThrow();
        assertThat(n.estimate().outputTokens()).isEqualTo(30);
    }

    @Test
    void withoutAMaximumTheDefaultOutputIsExpectedAndEmbeddingsExpectNone() {
        assertThat(read("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Hi\"}]}").orElseThrow().estimate().outputTokens()).isEqualTo(700);
        ModelRequest emb = read("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":[\"one\",\"two\"]}")
                .orElseThrow();
        assertThat(emb.estimate().outputTokens()).isZero();
        assertThat(emb.estimate().inputTokens()).isEqualTo(TokenEstimator.cl100k().countTokens("one\ntwo"));
    }

    @Test
    void bodiesThatNameNoModelAreNoModelCalls() {
        assertThat(read("/v1/files", "{\"purpose\":\"batch\"}")).isEmpty();
        assertThat(read("/v1/messages/count_tokens", "{\"model\":\"claude-sonnet-4-5\",\"messages\":[]}")).isEmpty();
        assertThat(read("/v1/chat/completions", "not json")).isEmpty();
        assertThat(read("/v1/chat/completions", "[1,2]")).isEmpty();
        assertThat(ModelRequest.read("/v1/audio/transcriptions", "multipart/form-data; boundary=x",
                "{\"model\":\"whisper-1\"}".getBytes(StandardCharsets.UTF_8), 10)).isEmpty();
    }
}
