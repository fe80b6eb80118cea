package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.retry.ProviderSignalParser;
import io.llmlimiter.client.retry.ProviderSignals;
import io.llmlimiter.client.retry.SignalResource;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * One call made by the probe and what it says about the provider's limits: admitted, or refused
 * by which limit (from the 429's message, then its rate-limit headers), with the provider's
 * {@code Retry-After} and rate-limit headers. This record is immutable and thread-safe.
 *
 * @param kind what the answer means
 * @param status the HTTP status, or -1 for a network error
 * @param charge the tokens the call asks for: prompt plus {@code max_tokens}
 * @param sentNanos {@link System#nanoTime()} when the call was sent
 * @param doneNanos {@link System#nanoTime()} when the answer arrived
 * @param signals the rate-limit headers and {@code Retry-After}
 * @param message the provider's error message, or the network error, or empty
 */
public record ProbeCall(Kind kind, int status, long charge, long sentNanos, long doneNanos, ProviderSignals signals,
                        String message) {

    /** What an answer means for the probe. */
    public enum Kind {
        /** Admitted: a 2xx answer. */
        OK,
        /** Refused by the request limit. */
        REQUESTS,
        /** Refused by the token limit for now; it would fit later. */
        TOKENS,
        /** Refused because the request alone exceeds the token limit: it never fits. */
        TOO_LARGE,
        /** Refused because too many calls are running. */
        CONCURRENCY,
        /** Any other error: the probe stops. */
        ERROR
    }

    /**
     * @param response the provider's answer
     * @param charge the tokens the call asked for
     * @param sentNanos when it was sent
     * @param doneNanos when the answer arrived
     * @return the call, classified
     */
    public static ProbeCall of(HttpResponse<String> response, long charge, long sentNanos, long doneNanos) {
        ProviderSignals signals = ProviderSignalParser.parse(response.headers().map(), Instant.now());
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
            return new ProbeCall(Kind.OK, status, charge, sentNanos, doneNanos, signals, "");
        }
        String message = errorMessage(response.body());
        Kind kind = status == 429 ? classify429(message, signals, charge) : Kind.ERROR;
        return new ProbeCall(kind, status, charge, sentNanos, doneNanos, signals,
                message.isEmpty() ? "HTTP " + status : message);
    }

    /**
     * @param error why the call failed
     * @param charge the tokens the call asked for
     * @param sentNanos when it was sent
     * @return the call, as an error
     */
    public static ProbeCall failed(Exception error, long charge, long sentNanos) {
        String why = error.getMessage() == null ? "" : ": " + error.getMessage();
        return new ProbeCall(Kind.ERROR, -1, charge, sentNanos, System.nanoTime(), ProviderSignals.empty(),
                "no answer (" + error.getClass().getSimpleName() + why + ")");
    }

    /** @return whether the provider admitted the call */
    public boolean admitted() {
        return kind == Kind.OK;
    }

    /** @return the provider's requested wait, if it gave one */
    public Optional<Duration> retryAfter() {
        return signals.retryAfter();
    }

    /**
     * Reads the reason of a 429: the provider's words first ("concurrent", "too large", "tokens",
     * as OpenAI, Anthropic and the mock word them), then its headers (whichever budget is out).
     */
    static Kind classify429(String message, ProviderSignals signals, long charge) {
        String m = message.toLowerCase(Locale.ROOT);
        if (m.contains("concurren")) {
            return Kind.CONCURRENCY;
        }
        if (m.contains("too large")) {
            return Kind.TOO_LARGE;
        }
        if (m.contains("token")) {
            return signals.retryAfter().isEmpty() ? Kind.TOO_LARGE : Kind.TOKENS;
        }
        if (m.contains("request")) {
            return Kind.REQUESTS;
        }
        Optional<ProviderSignals.Budget> tokens = signals.budget(SignalResource.TOKENS);
        if (tokens.isPresent() && tokens.get().remaining().isPresent()
                && tokens.get().remaining().getAsLong() < charge) {
            return Kind.TOKENS;
        }
        return Kind.REQUESTS;
    }

    private static String errorMessage(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        try {
            JsonNode root = CliSupport.JSON.readTree(body);
            JsonNode message = root.path("error").path("message");
            if (message.isTextual()) {
                return message.asText();
            }
            if (root.path("message").isTextual()) {
                return root.path("message").asText();
            }
        } catch (Exception e) {
            // Not JSON: the body itself is the message.
        }
        return body.length() > 300 ? body.substring(0, 300) : body;
    }
}
