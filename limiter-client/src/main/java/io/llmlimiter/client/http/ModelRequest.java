package io.llmlimiter.client.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.TokenEstimator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A call to a model, read from the JSON body of a provider request (OpenAI chat completions,
 * responses, completions and embeddings; Anthropic messages): the model it names, what it is
 * expected to use, and whether it asks for a streamed answer. Used by the HTTP-level integrations
 * (OkHttp, the OpenAI and Anthropic SDKs) to put a raw request under the budget. This class is
 * immutable and thread-safe.
 *
 * <p>The estimate: input tokens are counted with {@link TokenEstimator#forModel(String)} over the
 * text of {@code messages} (role and content, as {@link TokenEstimator#countChat(List)}),
 * {@code system}, {@code instructions}, {@code input}, {@code prompt} and the JSON of {@code tools};
 * output tokens are {@code max_completion_tokens}, {@code max_tokens} or {@code max_output_tokens}
 * (times {@code n}), none for embeddings, else the caller's default.
 *
 * @param model the model the body names
 * @param estimate what the call is expected to use
 * @param stream whether the body asks for a streamed answer ({@code "stream": true})
 */
public record ModelRequest(String model, Estimate estimate, boolean stream) {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final List<String> OUTPUT_FIELDS = List.of("max_completion_tokens", "max_tokens", "max_output_tokens");

    /** Validates the fields. */
    public ModelRequest {
        Objects.requireNonNull(model, "model must not be null");
        Objects.requireNonNull(estimate, "estimate must not be null");
    }

    /**
     * Reads a request body. Only a JSON object naming a {@code model} is a model call; anything else
     * (other content types, multipart uploads, bodies without a model, and token counting at a path
     * ending in {@code /count_tokens}, which providers do not count as a call) is not.
     *
     * @param path the URL path, e.g. {@code /v1/chat/completions} (embeddings produce no output)
     * @param contentType the request's content type, or null
     * @param body the request body
     * @param defaultOutputTokens the output tokens to expect when the body sets no maximum
     * @return the model call, or empty when the body is not one
     */
    public static Optional<ModelRequest> read(String path, String contentType, byte[] body, long defaultOutputTokens) {
        if (path != null && path.endsWith("/count_tokens")) {
            return Optional.empty();
        }
        if (body == null || body.length == 0 || (contentType != null && !contentType.toLowerCase(java.util.Locale.ROOT)
                .contains("json"))) {
            return Optional.empty();
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(body);
        } catch (IOException e) {
            return Optional.empty();
        }
        if (root == null || !root.isObject() || !root.path("model").isTextual() || root.path("model").asText().isBlank()) {
            return Optional.empty();
        }
        String model = root.path("model").asText();
        TokenEstimator tokens = TokenEstimator.forModel(model);
        long input = 0;
        JsonNode messages = root.path("messages");
        if (messages.isArray()) {
            List<Map.Entry<String, String>> chat = new ArrayList<>();
            for (JsonNode m : messages) {
                StringBuilder text = new StringBuilder();
                collectText(m.path("content"), text);
                collectText(m.path("tool_calls"), text);
                chat.add(Map.entry(m.path("role").asText(""), text.toString()));
            }
            input += tokens.countChat(chat);
        }
        for (String field : List.of("system", "instructions", "input", "prompt")) {
            StringBuilder text = new StringBuilder();
            collectText(root.path(field), text);
            if (text.length() > 0) {
                input += tokens.countTokens(text.toString());
            }
        }
        if (root.path("tools").isArray() && !root.path("tools").isEmpty()) {
            input += tokens.countTokens(root.path("tools").toString());
        }
        long output = defaultOutputTokens;
        boolean set = false;
        for (String field : OUTPUT_FIELDS) {
            if (root.path(field).canConvertToLong() && root.path(field).asLong() >= 0) {
                output = root.path(field).asLong();
                set = true;
                break;
            }
        }
        if (!set && path != null && path.endsWith("/embeddings")) {
            output = 0;
        }
        long n = root.path("n").canConvertToLong() ? Math.max(1, root.path("n").asLong()) : 1;
        long cap = io.llmlimiter.client.Limit.MAX_AMOUNT / 2;
        return Optional.of(new ModelRequest(model, Estimate.of(Math.min(input, cap), Math.min(output * n, cap)),
                root.path("stream").asBoolean(false)));
    }

    /** Text of a content value: a string, an array of strings or blocks, or blocks' text and content. */
    private static void collectText(JsonNode node, StringBuilder out) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return;
        }
        if (node.isTextual()) {
            append(out, node.asText());
        } else if (node.isArray()) {
            for (JsonNode n : node) {
                collectText(n, out);
            }
        } else if (node.isObject()) {
            boolean any = false;
            for (String field : List.of("text", "content", "arguments", "input")) {
                if (node.has(field)) {
                    any = true;
                    collectText(node.get(field), out);
                }
            }
            if (!any && node.has("function")) {
                collectText(node.get("function"), out);
            }
        }
    }

    private static void append(StringBuilder out, String text) {
        if (out.length() > 0) {
            out.append('\n');
        }
        out.append(text);
    }
}
