package io.llmlimiter.server.mock;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;

import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One chat endpoint. The flow is shared: arrival delay, forced fault, parse (400 on bad input), atomic admission
 * (429 when over a limit), latency while holding a concurrency slot, answer (one JSON body, or server-sent
 * events for {@code "stream": true}). Subclasses supply the
 * provider's body shapes. This class is thread-safe.
 */
abstract class ProviderEndpoint implements Handler {

    /** Shared mapper; ObjectMapper is thread-safe once configured. */
    static final ObjectMapper MAPPER = new ObjectMapper();

    private static final String[] WORDS = {"mock", "answer", "from", "the", "rate", "limited", "provider"};
    /** Caps the generated text; usage still reports the full completion token count. */
    private static final int MAX_WORDS = 2048;
    /** How many content pieces a streamed answer comes in (at most). */
    private static final int STREAM_PIECES = 4;

    private final String path;
    private final HeaderStyle nativeStyle;
    private final AdmissionController controller;
    private final FaultInjector faults;
    private final CallStats stats;
    private final AtomicLong ids = new AtomicLong();

    /**
     * @param path the route, e.g. {@code /v1/chat/completions}
     * @param nativeStyle the headers this provider sends by itself
     * @param controller admission for the whole mock provider
     * @param faults forced answers
     * @param stats call counters
     */
    ProviderEndpoint(String path, HeaderStyle nativeStyle, AdmissionController controller, FaultInjector faults,
                     CallStats stats) {
        this.path = path;
        this.nativeStyle = nativeStyle;
        this.controller = controller;
        this.faults = faults;
        this.stats = stats;
    }

    /**
     * @return the route this endpoint serves
     */
    String path() {
        return path;
    }

    /**
     * Serves one call and counts it by the status answered.
     *
     * @param ctx the call
     * @throws Exception when the call fails unexpectedly; Javalin answers 500
     */
    @Override
    public void handle(Context ctx) throws Exception {
        int status = 500;
        try {
            status = serve(ctx);
        } catch (HttpResponseException e) {
            // E.g. 413 from reading an oversized body; answer it in the provider's shape.
            status = send(ctx, e.getStatus(), faultBody(e.getStatus()));
        } finally {
            stats.record(status);
        }
    }

    private int serve(Context ctx) throws InterruptedException {
        // The network between the client and the provider: the request is counted when it arrives.
        TimeUnit.NANOSECONDS.sleep(controller.config().sampleArrivalDelayNanos());
        MockProviderConfig config = controller.config();
        OptionalInt fault = faults.next();
        if (fault.isPresent()) {
            int status = fault.getAsInt();
            if (status == 429) {
                RateLimitHeaders.retryAfter(ctx, TimeUnit.SECONDS.toNanos(1));
            }
            return send(ctx, status, faultBody(status));
        }
        ChatRequest req;
        try {
            req = ChatRequest.parse(MAPPER, ctx.body(), nativeStyle == HeaderStyle.ANTHROPIC);
        } catch (BadRequestException e) {
            return send(ctx, 400, invalidRequestBody(e));
        }
        long maxTokens = req.maxTokens() != null ? req.maxTokens() : config.defaultMaxTokens();
        if (config.maxOutputTokens() > 0 && maxTokens > config.maxOutputTokens()) {
            return send(ctx, 400, invalidRequestBody(new BadRequestException("max_tokens", "max_tokens is too large: "
                    + maxTokens + ". This model supports at most " + config.maxOutputTokens()
                    + " completion tokens, whereas you provided " + maxTokens + ".")));
        }
        Decision d = controller.tryAdmit(req.promptTokens() + maxTokens, path);
        RateLimitHeaders.write(ctx, config.headerStyle(), nativeStyle, d);
        if (!d.admitted()) {
            if (d.retryAfterNanos() > 0) {
                RateLimitHeaders.retryAfter(ctx, d.retryAfterNanos());
            }
            return send(ctx, 429, rateLimitBody(req, d, rateLimitMessage(req, d)));
        }
        try {
            TimeUnit.NANOSECONDS.sleep(config.sampleLatencyNanos());
        } finally {
            controller.release();
        }
        long completion = config.completionTokensFor(maxTokens);
        if (req.stream()) {
            return sendEvents(ctx, streamEvents(ids.incrementAndGet(), req, completion, completion == maxTokens));
        }
        return send(ctx, 200, successBody(ids.incrementAndGet(), req, completion, completion == maxTokens));
    }

    /**
     * The answer of a request with {@code "stream": true}, as the provider streams it.
     *
     * @param id a number unique within this endpoint, for the response id
     * @param req the request
     * @param completionTokens the completion tokens used
     * @param truncated whether the answer stopped at {@code max_tokens}
     * @return the events in order: the SSE event name (null for none) and its JSON data; an OpenAI
     *     stream's closing {@code [DONE]} is a {@link com.fasterxml.jackson.databind.node.TextNode}
     */
    abstract List<Map.Entry<String, JsonNode>> streamEvents(long id, ChatRequest req, long completionTokens,
                                                             boolean truncated);

    /**
     * @param tokens the completion tokens
     * @return the answer text cut in a few pieces, as a stream delivers it
     */
    static List<String> completionPieces(long tokens) {
        String text = completionText(tokens);
        List<String> pieces = new ArrayList<>();
        int step = Math.max(1, (text.length() + STREAM_PIECES - 1) / STREAM_PIECES);
        for (int i = 0; i < text.length(); i += step) {
            pieces.add(text.substring(i, Math.min(text.length(), i + step)));
        }
        return pieces;
    }

    /**
     * Writes a whole event stream; the rate-limit headers set before stay on the response.
     *
     * @param ctx the response to write
     * @param events the events, as {@link #streamEvents} gives them
     * @return 200
     */
    static int sendEvents(Context ctx, List<Map.Entry<String, JsonNode>> events) {
        StringBuilder b = new StringBuilder();
        try {
            for (Map.Entry<String, JsonNode> e : events) {
                if (e.getKey() != null) {
                    b.append("event: ").append(e.getKey()).append('\n');
                }
                String data = e.getValue().isTextual() ? e.getValue().asText() : MAPPER.writeValueAsString(e.getValue());
                b.append("data: ").append(data).append("\n\n");
            }
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        ctx.status(200).contentType("text/event-stream").header("Cache-Control", "no-cache").result(b.toString());
        return 200;
    }

    /**
     * @param id a number unique within this endpoint, for the response id
     * @param req the request
     * @param completionTokens the completion tokens used
     * @param truncated whether the answer stopped at {@code max_tokens}
     * @return the success body
     */
    abstract ObjectNode successBody(long id, ChatRequest req, long completionTokens, boolean truncated);

    /**
     * @param req the request
     * @param d the rejection
     * @param message the human-readable reason
     * @return the 429 body
     */
    abstract ObjectNode rateLimitBody(ChatRequest req, Decision d, String message);

    /**
     * @param e what is wrong with the request
     * @return the 400 body
     */
    abstract ObjectNode invalidRequestBody(BadRequestException e);

    /**
     * @param status an error status
     * @param message the human-readable reason
     * @return the provider's error body for that status
     */
    abstract ObjectNode errorBody(int status, String message);

    /**
     * @param status an error status
     * @return the provider's usual wording for it
     */
    abstract String defaultMessage(int status);

    /**
     * @param status a forced or unexpected error status
     * @return the body the provider sends with it
     */
    final ObjectNode faultBody(int status) {
        return errorBody(status, defaultMessage(status));
    }

    /**
     * @param tokens the completion tokens to fill, about one per word
     * @return a deterministic answer text
     */
    static String completionText(long tokens) {
        StringBuilder b = new StringBuilder();
        long words = Math.min(tokens, MAX_WORDS);
        for (int i = 0; i < words; i++) {
            if (i > 0) {
                b.append(' ');
            }
            b.append(WORDS[i % WORDS.length]);
        }
        return b.append('.').toString();
    }

    /**
     * @param req the request
     * @param d the rejection
     * @return an OpenAI-worded reason, e.g. {@code Rate limit reached for requests per 2s on model m:
     *     Limit 20, Used 20, Requested 1. Please try again in 150ms.}
     */
    static String rateLimitMessage(ChatRequest req, Decision d) {
        String retry = d.retryAfterNanos() > 0
                ? " Please try again in " + RateLimitHeaders.goDuration(WindowState.ceilMillis(d.retryAfterNanos())) + "."
                : "";
        return switch (d.rejection()) {
            case REQUESTS -> "Rate limit reached for requests per " + per(d.requests()) + " on model " + req.model()
                    + ": Limit " + d.requests().limit() + ", Used " + d.requests().used() + ", Requested 1." + retry;
            case TOKENS -> "Rate limit reached for tokens per " + per(d.tokens()) + " on model " + req.model()
                    + ": Limit " + d.tokens().limit() + ", Used " + d.tokens().used() + ", Requested " + d.charge()
                    + "." + retry;
            case TOO_LARGE -> "Request too large for tokens per " + per(d.tokens()) + " on model " + req.model()
                    + ": Limit " + d.tokens().limit() + ", Requested " + d.charge()
                    + ". The input or output tokens must be reduced in order to run successfully.";
            case CONCURRENCY -> "Rate limit reached for concurrent requests on model " + req.model() + ": Limit "
                    + d.maxConcurrency() + ", In flight " + d.inFlight() + ", Requested 1." + retry;
        };
    }

    private static String per(WindowState w) {
        long ms = w.window().toMillis();
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }

    /**
     * @param ctx the response to write
     * @param status the status
     * @param body the JSON body
     * @return {@code status}
     */
    static int send(Context ctx, int status, ObjectNode body) {
        try {
            ctx.status(status).contentType("application/json").result(MAPPER.writeValueAsString(body));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        return status;
    }
}
