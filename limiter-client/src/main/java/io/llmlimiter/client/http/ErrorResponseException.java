package io.llmlimiter.client.http;

import io.llmlimiter.client.retry.HttpStatusException;
import java.util.Collection;
import java.util.Map;

/**
 * A provider's error response inside an HTTP-level integration's {@code execute}: it is classified
 * and retried like any {@link HttpStatusException}, and when the limiter gives up, the integration
 * hands {@link #response()} (the same response, its body buffered) back to the library, so the
 * library raises its own exception for it as it would have without the limiter.
 */
public final class ErrorResponseException extends HttpStatusException {

    private static final long serialVersionUID = 1L;

    private final transient Object response;

    /**
     * @param status the HTTP status
     * @param headers the response headers
     * @param body the response body
     * @param response the response as the library knows it, with its body buffered
     */
    public ErrorResponseException(int status, Map<String, ? extends Collection<String>> headers, String body,
                                  Object response) {
        super(status, headers, body);
        this.response = response;
    }

    /** @return the response as the library knows it, its body buffered */
    public Object response() {
        return response;
    }
}
