package io.llmlimiter.server.mock;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The parts of a chat request the mock needs, read from an OpenAI or Anthropic body.
 *
 * <p>Prompt tokens are estimated as {@code ceil(characters / 4)} over every message's text (and
 * Anthropic's {@code system}), counting Unicode code points. Real tokenizers differ; the mock keeps
 * this simple and deterministic so tests can predict charges exactly.
 *
 * <p>This record is immutable and thread-safe.
 *
 * @param model the model named, or {@value #DEFAULT_MODEL} when the body names none
 * @param promptTokens the estimated prompt tokens
 * @param maxTokens the requested {@code max_tokens}, or {@code null} when absent
 * @param stream whether the answer is to be streamed as server-sent events ({@code "stream": true})
 * @param includeUsage whether an OpenAI stream ends with a usage chunk
 *     ({@code "stream_options": {"include_usage": true}}); Anthropic streams always report usage
 */
record ChatRequest(String model, long promptTokens, Long maxTokens, boolean stream, boolean includeUsage) {

    /**
     * A request answered in one body.
     *
     * @param model the model named
     * @param promptTokens the estimated prompt tokens
     * @param maxTokens the requested {@code max_tokens}, or {@code null} when absent
     */
    ChatRequest(String model, long promptTokens, Long maxTokens) {
        this(model, promptTokens, maxTokens, false, false);
    }

    /** The model reported when a request names none; the mock is lenient about it. */
    static final String DEFAULT_MODEL = "mock-model";

    /**
     * @param mapper the JSON mapper
     * @param body the raw request body
     * @param anthropic whether to read the Anthropic Messages shape ({@code max_tokens} required,
     *     optional {@code system}) rather than OpenAI's
     * @return the request
     * @throws BadRequestException naming the bad field when the body is not a valid request
     */
    static ChatRequest parse(ObjectMapper mapper, String body, boolean anthropic) throws BadRequestException {
        JsonNode root;
        try {
            root = body == null || body.isBlank() ? null : mapper.readTree(body);
        } catch (JsonProcessingException e) {
            throw new BadRequestException(null, "We could not parse the JSON body of your request: "
                    + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new BadRequestException(null, "The request body must be a JSON object.");
        }
        JsonNode model = root.get("model");
        if (model != null && !model.isNull() && !model.isTextual()) {
            throw new BadRequestException("model", "model: must be a string");
        }
        long chars = 0;
        if (anthropic && root.hasNonNull("system")) {
            chars += textLength(root.get("system"), "system");
        }
        JsonNode messages = root.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw new BadRequestException("messages", "messages: a non-empty array of messages is required");
        }
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject() || !m.path("role").isTextual()) {
                throw new BadRequestException(where, where + ": must be an object with a string role");
            }
            if (!m.has("content")) {
                throw new BadRequestException(where + ".content", where + ".content: field required");
            }
            chars += textLength(m.get("content"), where + ".content");
        }
        Long maxTokens = maxTokens(root, anthropic);
        String modelName = model == null || model.isNull() ? DEFAULT_MODEL : model.asText();
        JsonNode stream = root.get("stream");
        if (stream != null && !stream.isNull() && !stream.isBoolean()) {
            throw new BadRequestException("stream", "stream: must be a boolean");
        }
        boolean streamed = stream != null && stream.asBoolean(false);
        boolean includeUsage = streamed && root.path("stream_options").path("include_usage").asBoolean(false);
        return new ChatRequest(modelName, (chars + 3) / 4, maxTokens, streamed, includeUsage);
    }

    private static Long maxTokens(JsonNode root, boolean anthropic) throws BadRequestException {
        // Newer OpenAI clients send max_completion_tokens instead of max_tokens.
        String field = !anthropic && root.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            if (anthropic) {
                throw new BadRequestException("max_tokens", "max_tokens: field required");
            }
            return null;
        }
        if (!n.canConvertToExactIntegral() || !n.canConvertToLong() || n.asLong() < 1) {
            throw new BadRequestException(field, field + ": must be an integer of at least 1, got " + n);
        }
        return n.asLong();
    }

    /** Characters of a content value: a string, or an array of blocks whose {@code text} counts. */
    private static long textLength(JsonNode content, String where) throws BadRequestException {
        if (content.isNull()) {
            return 0;
        }
        if (content.isTextual()) {
            return codePoints(content.asText());
        }
        if (content.isArray()) {
            long n = 0;
            for (JsonNode block : content) {
                if (!block.isObject()) {
                    throw new BadRequestException(where, where + ": content blocks must be objects");
                }
                if (block.path("text").isTextual()) {
                    n += codePoints(block.get("text").asText());
                }
            }
            return n;
        }
        throw new BadRequestException(where, where + ": must be a string or an array of content blocks");
    }

    private static long codePoints(String s) {
        return s.codePointCount(0, s.length());
    }
}
