package io.llmlimiter.server.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.time.Instant;
import java.util.AbstractMap.SimpleImmutableEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * OpenAI-compatible {@code POST /v1/chat/completions}: {@code chat.completion} answers (or a
 * {@code chat.completion.chunk} event stream for {@code "stream": true}) and
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

    /**
     * OpenAI's {@code chat.completion.chunk} stream: a role chunk, content chunks, a chunk with the
     * finish reason, then (with {@code stream_options.include_usage}) a chunk with empty choices and
     * the usage, then {@code [DONE]}.
     */
    @Override
    List<Map.Entry<String, JsonNode>> streamEvents(long id, ChatRequest req, long completionTokens, boolean truncated) {
        long created = Instant.now().getEpochSecond();
        List<Map.Entry<String, JsonNode>> events = new ArrayList<>();
        ObjectNode first = chunk(id, created, req);
        ObjectNode role = first.withArray("choices").addObject();
        role.put("index", 0);
        role.putObject("delta").put("role", "assistant").put("content", "");
        role.putNull("finish_reason");
        events.add(new SimpleImmutableEntry<>(null, first));
        for (String piece : completionPieces(completionTokens)) {
            ObjectNode c = chunk(id, created, req);
            ObjectNode choice = c.withArray("choices").addObject();
            choice.put("index", 0);
            choice.putObject("delta").put("content", piece);
            choice.putNull("finish_reason");
            events.add(new SimpleImmutableEntry<>(null, c));
        }
        ObjectNode last = chunk(id, created, req);
        ObjectNode finish = last.withArray("choices").addObject();
        finish.put("index", 0);
        finish.putObject("delta");
        finish.put("finish_reason", truncated ? "length" : "stop");
        events.add(new SimpleImmutableEntry<>(null, last));
        if (req.includeUsage()) {
            ObjectNode u = chunk(id, created, req);
            u.putArray("choices");
            ObjectNode usage = u.putObject("usage");
            usage.put("prompt_tokens", req.promptTokens());
            usage.put("completion_tokens", completionTokens);
            usage.put("total_tokens", req.promptTokens() + completionTokens);
            events.add(new SimpleImmutableEntry<>(null, u));
        }
        events.add(new SimpleImmutableEntry<>(null, TextNode.valueOf("[DONE]")));
        return events;
    }

    private static ObjectNode chunk(long id, long created, ChatRequest req) {
        ObjectNode c = MAPPER.createObjectNode();
        c.put("id", "chatcmpl-mock" + id);
        c.put("object", "chat.completion.chunk");
        c.put("created", created);
        c.put("model", req.model());
        return c;
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
