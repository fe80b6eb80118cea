package io.llmlimiter.client.retry;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What is known about one failed provider call: the HTTP status (if there was a response), the
 * response headers, a prefix of the response body, and the exception that carried them.
 *
 * <p>Immutable and thread-safe (the cause is referenced, not copied; exceptions are treated as
 * effectively immutable). Header lookups ignore case. Bodies longer than {@link #MAX_BODY_CHARS}
 * are truncated so that a huge error page cannot bloat logs or memory.
 */
public final class ProviderFailure {

    /** Maximum number of body characters kept; longer bodies are cut to this length. */
    public static final int MAX_BODY_CHARS = 2048;

    private final OptionalInt statusCode;
    private final Map<String, List<String>> headers;
    private final Optional<String> body;
    private final Optional<Throwable> cause;

    private ProviderFailure(
            OptionalInt statusCode,
            Map<String, ? extends Collection<String>> headers,
            String body,
            Throwable cause) {
        this.statusCode = statusCode;
        this.headers = HeaderMaps.copyOf(headers);
        this.body = Optional.ofNullable(truncate(body));
        this.cause = Optional.ofNullable(cause);
    }

    /**
     * A failure that produced an HTTP response.
     *
     * @param statusCode HTTP status code, 100 to 599
     * @param headers response headers (may be {@code null} or empty); names are matched ignoring case
     * @param body response body text (may be {@code null}); truncated to {@link #MAX_BODY_CHARS}
     * @param cause the exception that reported the failure (may be {@code null})
     * @return the failure
     * @throws IllegalArgumentException if the status code is outside 100..599
     */
    public static ProviderFailure ofResponse(
            int statusCode, Map<String, ? extends Collection<String>> headers, String body, Throwable cause) {
        if (statusCode < 100 || statusCode > 599) {
            throw new IllegalArgumentException("statusCode must be between 100 and 599: " + statusCode);
        }
        return new ProviderFailure(OptionalInt.of(statusCode), headers, body, cause);
    }

    /**
     * A failure without an HTTP response (timeout, connection error, unexpected exception).
     *
     * @param cause the exception thrown by the call
     * @return the failure
     */
    public static ProviderFailure ofCause(Throwable cause) {
        return new ProviderFailure(OptionalInt.empty(), Map.of(), null, Objects.requireNonNull(cause, "cause"));
    }

    /**
     * The HTTP status code, if the provider answered.
     *
     * @return the status code or empty
     */
    public OptionalInt statusCode() {
        return statusCode;
    }

    /**
     * All response headers as an unmodifiable, case-insensitive multimap.
     *
     * @return the headers; empty when there was no response
     */
    public Map<String, List<String>> headers() {
        return headers;
    }

    /**
     * The first value of a header, ignoring the case of its name.
     *
     * @param name header name
     * @return the trimmed first value, or empty if absent or blank
     */
    public Optional<String> header(String name) {
        return HeaderMaps.first(headers, name);
    }

    /**
     * The response body text, at most {@link #MAX_BODY_CHARS} characters.
     *
     * @return the body or empty
     */
    public Optional<String> body() {
        return body;
    }

    /**
     * The exception that reported this failure.
     *
     * @return the cause, or empty if the failure was built from a bare response
     */
    public Optional<Throwable> cause() {
        return cause;
    }

    private static String truncate(String body) {
        if (body == null || body.length() <= MAX_BODY_CHARS) {
            return body;
        }
        // Do not split a surrogate pair at the cut.
        int end = Character.isHighSurrogate(body.charAt(MAX_BODY_CHARS - 1)) ? MAX_BODY_CHARS - 1 : MAX_BODY_CHARS;
        return body.substring(0, end);
    }

    /**
     * Value equality over status, headers, body and cause (the cause is compared by identity).
     *
     * @param o other object
     * @return whether both describe the same failure
     */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof ProviderFailure)) {
            return false;
        }
        ProviderFailure other = (ProviderFailure) o;
        return statusCode.equals(other.statusCode)
                && headers.equals(other.headers)
                && body.equals(other.body)
                && cause.orElse(null) == other.cause.orElse(null);
    }

    /**
     * Hash code consistent with {@link #equals(Object)}.
     *
     * @return the hash code
     */
    @Override
    public int hashCode() {
        return Objects.hash(statusCode, headers, body, System.identityHashCode(cause.orElse(null)));
    }

    /**
     * A short description for logs; the body is omitted because it may contain user data.
     *
     * @return status, header names and cause type
     */
    @Override
    public String toString() {
        return "ProviderFailure{status=" + (statusCode.isPresent() ? statusCode.getAsInt() : "none")
                + ", headers=" + headers.keySet()
                + ", cause=" + cause.map(c -> c.getClass().getName()).orElse("none") + '}';
    }
}
