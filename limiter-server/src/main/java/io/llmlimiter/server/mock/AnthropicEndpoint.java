package io.llmlimiter.server.mock;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Anthropic-style {@code POST /v1/messages}: {@code message} answers and
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
