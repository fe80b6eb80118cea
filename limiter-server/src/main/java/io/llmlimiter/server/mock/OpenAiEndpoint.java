package io.llmlimiter.server.mock;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;

/**
 * OpenAI-compatible {@code POST /v1/chat/completions}: {@code chat.completion} answers and
 * {@code {"error":{message,type,param,code}}} errors. This class is thread-safe.
 */
final class OpenAiEndpoint extends ProviderEndpoint {

    /** The route served. */
    static final String PATH = "/v1/chat/completions";

    /**
     * @param controller admission for the whole mock provider
     * @param faults forced answers
     * @param stats call counters
     */
    OpenAiEndpoint(AdmissionController controller, FaultInjector faults, CallStats stats) {
        super(PATH, HeaderStyle.OPENAI, controller, faults, stats);
    }

    @Override
    ObjectNode successBody(long id, ChatRequest req, long completionTokens, boolean truncated) {
        ObjectNode body = MAPPER.createObjectNode();
        body.put("id", "chatcmpl-mock" + id);
        body.put("object", "chat.completion");
        body.put("created", Instant.now().getEpochSecond());
        body.put("model", req.model());
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", completionText(completionTokens));
        choice.putNull("logprobs");
        choice.put("finish_reason", truncated ? "length" : "stop");
        ObjectNode usage = body.putObject("usage");
        usage.put("prompt_tokens", req.promptTokens());
        usage.put("completion_tokens", completionTokens);
        usage.put("total_tokens", req.promptTokens() + completionTokens);
        return body;
    }

    @Override
    java.util.List<java.util.Map.Entry<String, String>> streamEvents(long id, ChatRequest req, long completionTokens,
                                                                boolean truncated) {
        java.util.List<java.util.Map.Entry<String, String>> events = new java.util.ArrayList<>();
        long created = Instant.now().getEpochSecond();
        java.util.List<String> pieces = new java.util.ArrayList<>(pieces(completionText(completionTokens)));
        pieces.add(0, null);
        for (int i = 0; i <= pieces.size(); i++) {
            ObjectNode chunk = chunk(id, req, created);
            ObjectNode choice = chunk.putArray("choices").addObject();
            choice.put("index", 0);
            ObjectNode delta = choice.putObject("delta");
            if (i == 0) {
                delta.put("role", "assistant");
                delta.put("content", "");
            } else if (i < pieces.size()) {
                delta.put("content", pieces.get(i));
            }
            choice.putNull("logprobs");
            if (i == pieces.size()) {
                choice.put("finish_reason", truncated ? "length" : "stop");
            } else {
                choice.putNull("finish_reason");
            }
            if (req.includeUsage()) {
                chunk.putNull("usage");
            }
            events.add(data(json(chunk)));
        }
        if (req.includeUsage()) {
            ObjectNode last = chunk(id, req, created);
            last.putArray("choices");
            ObjectNode usage = last.putObject("usage");
            usage.put("prompt_tokens", req.promptTokens());
            usage.put("completion_tokens", completionTokens);
            usage.put("total_tokens", req.promptTokens() + completionTokens);
            events.add(data(json(last)));
        }
        events.add(data("[DONE]"));
        return events;
    }

    /** An unnamed event: OpenAI sends data lines only. */
    private static java.util.Map.Entry<String, String> data(String data) {
        return new java.util.AbstractMap.SimpleEntry<>(null, data);
    }

    private static ObjectNode chunk(long id, ChatRequest req, long created) {
        ObjectNode chunk = MAPPER.createObjectNode();
        chunk.put("id", "chatcmpl-mock" + id);
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", created);
        chunk.put("model", req.model());
        return chunk;
    }

    @Override
    ObjectNode rateLimitBody(ChatRequest req, Decision d, String message) {
        boolean tokens = d.rejection() == Decision.Rejection.TOKENS || d.rejection() == Decision.Rejection.TOO_LARGE;
        return error(message, tokens ? "tokens" : "requests", null, "rate_limit_exceeded");
    }

    @Override
    ObjectNode invalidRequestBody(BadRequestException e) {
        return error(e.getMessage(), "invalid_request_error", e.param(), null);
    }

    @Override
    ObjectNode errorBody(int status, String message) {
        if (status == 429) {
            return error(message, "requests", null, "rate_limit_exceeded");
        }
        return error(message, status >= 500 ? "server_error" : "invalid_request_error", null, null);
    }

    @Override
    String defaultMessage(int status) {
        return switch (status) {
            case 413 -> "Request body too large.";
            case 429 -> "Rate limit reached for requests. Please try again in 1s.";
            case 500 -> "The server had an error while processing your request. Sorry about that!";
            case 502 -> "Bad gateway.";
            case 503, 529 -> "The engine is currently overloaded, please try again later.";
            default -> "The request failed with status " + status + ".";
        };
    }

    private static ObjectNode error(String message, String type, String param, String code) {
        ObjectNode body = MAPPER.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return body;
    }
}
