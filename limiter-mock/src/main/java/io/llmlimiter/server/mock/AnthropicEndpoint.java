package io.llmlimiter.server.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.AbstractMap.SimpleImmutableEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Anthropic-style {@code POST /v1/messages}: {@code message} answers (or the Messages event stream
 * for {@code "stream": true}) and
 * {@code {"type":"error","error":{type,message}}} errors, with 529 {@code overloaded_error}.
 * The mock charges one token window with input plus {@code max_tokens}, where Anthropic keeps
 * separate input and output limits. This class is thread-safe.
 */
final class AnthropicEndpoint extends ProviderEndpoint {

    /** The route served. */
    static final String PATH = "/v1/messages";

    /**
     * @param controller admission for the whole mock provider
     * @param faults forced answers
     * @param stats call counters
     */
    AnthropicEndpoint(AdmissionController controller, FaultInjector faults, CallStats stats) {
        super(PATH, HeaderStyle.ANTHROPIC, controller, faults, stats);
    }

    @Override
    ObjectNode successBody(long id, ChatRequest req, long completionTokens, boolean truncated) {
        ObjectNode body = MAPPER.createObjectNode();
        body.put("id", String.format("msg_mock%020d", id));
        body.put("type", "message");
        body.put("role", "assistant");
        ObjectNode text = body.putArray("content").addObject();
        text.put("type", "text");
        text.put("text", completionText(completionTokens));
        body.put("model", req.model());
        body.put("stop_reason", truncated ? "max_tokens" : "end_turn");
        body.putNull("stop_sequence");
        ObjectNode usage = body.putObject("usage");
        usage.put("input_tokens", req.promptTokens());
        usage.put("output_tokens", completionTokens);
        usage.put("cache_creation_input_tokens", 0);
        usage.put("cache_read_input_tokens", 0);
        return body;
    }

    /**
     * Anthropic's Messages stream: {@code message_start} (input tokens), one text block's
     * {@code content_block_start}/{@code _delta}s/{@code _stop}, {@code message_delta} (stop
     * reason and output tokens) and {@code message_stop}.
     */
    @Override
    List<Map.Entry<String, JsonNode>> streamEvents(long id, ChatRequest req, long completionTokens, boolean truncated) {
        List<Map.Entry<String, JsonNode>> events = new ArrayList<>();
        ObjectNode start = MAPPER.createObjectNode().put("type", "message_start");
        ObjectNode message = start.putObject("message");
        message.put("id", String.format("msg_mock%020d", id));
        message.put("type", "message");
        message.put("role", "assistant");
        message.putArray("content");
        message.put("model", req.model());
        message.putNull("stop_reason");
        message.putNull("stop_sequence");
        ObjectNode startUsage = message.putObject("usage");
        startUsage.put("input_tokens", req.promptTokens());
        startUsage.put("output_tokens", 1);
        startUsage.put("cache_creation_input_tokens", 0);
        startUsage.put("cache_read_input_tokens", 0);
        events.add(new SimpleImmutableEntry<>("message_start", start));
        ObjectNode blockStart = MAPPER.createObjectNode().put("type", "content_block_start").put("index", 0);
        blockStart.putObject("content_block").put("type", "text").put("text", "");
        events.add(new SimpleImmutableEntry<>("content_block_start", blockStart));
        for (String piece : completionPieces(completionTokens)) {
            ObjectNode delta = MAPPER.createObjectNode().put("type", "content_block_delta").put("index", 0);
            delta.putObject("delta").put("type", "text_delta").put("text", piece);
            events.add(new SimpleImmutableEntry<>("content_block_delta", delta));
        }
        events.add(new SimpleImmutableEntry<>("content_block_stop",
                MAPPER.createObjectNode().put("type", "content_block_stop").put("index", 0)));
        ObjectNode end = MAPPER.createObjectNode().put("type", "message_delta");
        end.putObject("delta").put("stop_reason", truncated ? "max_tokens" : "end_turn").putNull("stop_sequence");
        end.putObject("usage").put("output_tokens", completionTokens);
        events.add(new SimpleImmutableEntry<>("message_delta", end));
        events.add(new SimpleImmutableEntry<>("message_stop", MAPPER.createObjectNode().put("type", "message_stop")));
        return events;
    }

    @Override
    ObjectNode rateLimitBody(ChatRequest req, Decision d, String message) {
        return error("rate_limit_error", message);
    }

    @Override
    ObjectNode invalidRequestBody(BadRequestException e) {
        return error("invalid_request_error", e.getMessage());
    }

    @Override
    ObjectNode errorBody(int status, String message) {
        String type = switch (status) {
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 529 -> "overloaded_error";
            default -> status >= 500 ? "api_error" : "invalid_request_error";
        };
        return error(type, message);
    }

    @Override
    String defaultMessage(int status) {
        return switch (status) {
            case 413 -> "Request exceeds the maximum allowed number of bytes.";
            case 429 -> "Number of requests has exceeded your rate limit.";
            case 529 -> "Overloaded";
            default -> status >= 500 ? "Internal server error" : "The request failed with status " + status + ".";
        };
    }

    private static ObjectNode error(String type, String message) {
        ObjectNode body = MAPPER.createObjectNode();
        body.put("type", "error");
        ObjectNode error = body.putObject("error");
        error.put("type", type);
        error.put("message", message);
        return body;
    }
}
