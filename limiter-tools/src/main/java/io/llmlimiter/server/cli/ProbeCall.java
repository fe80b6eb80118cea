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
 * by which limit, read from the provider's signals (its rate-limit headers, then the structured
 * {@code type}/{@code code}/{@code param} of the error body; never from the wording of the
 * message, which differs between providers and languages), with the provider's
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
        /**
         * A 429 whose signals do not say which limit refused it: a request window or a concurrency
         * cap. The probe tells them apart by behaviour (see {@link LimitProbe}).
         */
        RATE_LIMITED,
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
        ErrorBody error = ErrorBody.parse(response.body());
        Kind kind;
        if (status == 429) {
            kind = classify429(error, signals, charge);
        } else if ((status == 400 || status == 413) && error.names("max_tokens")) {
            kind = Kind.TOO_LARGE;
        } else {
            kind = Kind.ERROR;
        }
        return new ProbeCall(kind, status, charge, sentNanos, doneNanos, signals,
                error.message().isEmpty() ? "HTTP " + status : error.message());
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
     * @param resolved what the probe found out the call's refusal meant
     * @return this call with that meaning
     */
    public ProbeCall as(Kind resolved) {
        return new ProbeCall(resolved, status, charge, sentNanos, doneNanos, signals, message);
    }

    /** @return whether the answer was a 429 of any kind */
    public boolean rateLimited() {
        return status == 429;
    }

    /**
     * Reads the reason of a 429 from signals, in order of trust:
     * <ol>
     *   <li>the rate-limit headers: a token limit below the charge means the call never fits; an
     *       exhausted request budget, or fewer tokens left than the charge, names that limit; budgets
     *       with room on both mean neither refused it, so a concurrency cap did;</li>
     *   <li>the error's structured fields: a {@code type} or {@code code} naming concurrency, or
     *       tokens (OpenAI's {@code "type":"tokens"}; without a {@code Retry-After} the call never
     *       fits), or requests;</li>
     *   <li>nothing said: {@link Kind#RATE_LIMITED}, resolved later by behaviour.</li>
     * </ol>
     */
    static Kind classify429(ErrorBody error, ProviderSignals signals, long charge) {
        Optional<ProviderSignals.Budget> requests = signals.budget(SignalResource.REQUESTS);
        boolean requestsKnown = requests.isPresent() && requests.get().remaining().isPresent();
        boolean tokensKnown = false;
        for (SignalResource r : new SignalResource[] {SignalResource.TOKENS, SignalResource.INPUT_TOKENS}) {
            Optional<ProviderSignals.Budget> t = signals.budget(r);
            if (t.isPresent() && t.get().limit().isPresent() && t.get().limit().getAsLong() < charge) {
                return Kind.TOO_LARGE;
            }
            if (t.isPresent() && t.get().remaining().isPresent()) {
                tokensKnown = true;
                if (t.get().remaining().getAsLong() < charge) {
                    return Kind.TOKENS;
                }
            }
        }
        if (requestsKnown && requests.get().remaining().getAsLong() <= 0) {
            return Kind.REQUESTS;
        }
        if (error.says("concurren")) {
            return Kind.CONCURRENCY;
        }
        if (error.says("token") && !tokensKnown) {
            return signals.retryAfter().isEmpty() ? Kind.TOO_LARGE : Kind.TOKENS;
        }
        if (requestsKnown) {
            // The provider says its request budget has room (and its token budget, when stated):
            // only a cap on calls at once is left to have refused it.
            return Kind.CONCURRENCY;
        }
        return Kind.RATE_LIMITED;
    }

    /**
     * The structured parts of a provider's error body: OpenAI's {@code {"error":{message,type,param,code}}}
     * and Anthropic's {@code {"type":"error","error":{type,message}}}.
     *
     * @param message the human-readable message, or empty
     * @param type the error type, or empty
     * @param code the error code, or empty
     * @param param the request field it is about, or empty
     */
    record ErrorBody(String message, String type, String code, String param) {

        static ErrorBody parse(String body) {
            if (body == null || body.isBlank()) {
                return new ErrorBody("", "", "", "");
            }
            try {
                JsonNode root = CliSupport.JSON.readTree(body);
                JsonNode e = root.path("error").isObject() ? root.path("error") : root;
                if (e.path("message").isTextual()) {
                    return new ErrorBody(e.path("message").asText(), text(e, "type"), text(e, "code"),
                            text(e, "param"));
                }
            } catch (Exception e) {
                // Not JSON: the body itself is the message.
            }
            return new ErrorBody(body.length() > 300 ? body.substring(0, 300) : body, "", "", "");
        }

        private static String text(JsonNode n, String field) {
            return n.path(field).isValueNode() && !n.path(field).isNull() ? n.path(field).asText() : "";
        }

        /** Whether the type or code (not the message) contains {@code word}. */
        boolean says(String word) {
            return (type + " " + code).toLowerCase(Locale.ROOT).contains(word);
        }

        /**
         * Whether the error is about the request field {@code field}: OpenAI names it in
         * {@code param}, Anthropic starts its message with it ({@code "max_tokens: 100000 > 8192..."}).
         */
        boolean names(String field) {
            return field.equals(param) || message.startsWith(field + ":") || message.startsWith(field + " ");
        }
    }
}
