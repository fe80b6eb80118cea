package io.llmlimiter.client.retry;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Thrown by user code to report a non-successful HTTP response (for example one obtained from
 * {@link java.net.http.HttpClient}) so that the retry machinery can classify it.
 *
 * <p>Immutable and thread-safe. Only a {@link ProviderFailure#MAX_BODY_CHARS}-character prefix of
 * the body is kept.
 */
public class HttpStatusException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The HTTP status; the only state that survives Java serialisation. */
    private final int statusCode;

    /** Headers and body; transient because header maps and causes need not be serialisable. */
    private final transient ProviderFailure failure;

    /**
     * Wraps a {@code java.net.http} response. A {@code String} or {@code byte[]} (decoded as UTF-8)
     * body is kept; other body types (streams, publishers) are not read, because they may be
     * one-shot and still owned by the caller.
     *
     * @param response the non-successful response
     */
    public HttpStatusException(HttpResponse<?> response) {
        this(Objects.requireNonNull(response, "response").statusCode(),
                response.headers().map(),
                bodyText(response.body()));
    }

    /**
     * Reports a status with headers and body.
     *
     * @param statusCode HTTP status code, 100 to 599
     * @param headers response headers (may be {@code null}); names are matched ignoring case
     * @param body response body text (may be {@code null})
     */
    public HttpStatusException(int statusCode, Map<String, ? extends Collection<String>> headers, String body) {
        super("HTTP " + statusCode);
        this.statusCode = statusCode;
        this.failure = ProviderFailure.ofResponse(statusCode, headers, body, this);
    }

    /**
     * Reports a bare status code.
     *
     * @param statusCode HTTP status code, 100 to 599
     */
    public HttpStatusException(int statusCode) {
        this(statusCode, Map.of(), null);
    }

    /**
     * The HTTP status code.
     *
     * @return the status code
     */
    public int statusCode() {
        return statusCode;
    }

    /**
     * The response headers as an unmodifiable, case-insensitive multimap.
     *
     * @return the headers (empty after deserialisation)
     */
    public Map<String, List<String>> headers() {
        return failure == null ? Map.of() : failure.headers();
    }

    /**
     * The (possibly truncated) response body.
     *
     * @return the body or empty
     */
    public Optional<String> body() {
        return failure == null ? Optional.empty() : failure.body();
    }

    /**
     * This exception as a {@link ProviderFailure} whose cause is this exception.
     *
     * @return the failure description
     */
    public ProviderFailure toFailure() {
        // After Java deserialisation only the status survives (the failure is transient).
        return failure != null ? failure : ProviderFailure.ofResponse(statusCode, Map.of(), null, this);
    }

    private static String bodyText(Object body) {
        if (body instanceof String) {
            return (String) body;
        }
        if (body instanceof byte[]) {
            byte[] bytes = (byte[]) body;
            // Decode only what can survive truncation; UTF-8 needs at most 4 bytes per char.
            int limit = Math.min(bytes.length, ProviderFailure.MAX_BODY_CHARS * 4);
            return new String(Arrays.copyOf(bytes, limit), StandardCharsets.UTF_8);
        }
        return null;
    }
}
