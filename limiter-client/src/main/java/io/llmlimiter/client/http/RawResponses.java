package io.llmlimiter.client.http;

import io.llmlimiter.client.CallContext;
import io.llmlimiter.client.CallFailedException;
import io.llmlimiter.client.Usage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one way the HTTP-level integrations treat a provider's raw response inside {@code execute}:
 * an error status is thrown (so the limiter classifies and retries it), a success reports its
 * headers and the usage in its body, a stream of server-sent events completes its permit when it
 * ends. Stateless and thread-safe.
 */
public final class RawResponses {

    private RawResponses() {
    }

    /**
     * What an integration knows about its library's response type.
     *
     * @param <R> the library's response type
     */
    public interface Adapter<R> {

        /** @return the response's HTTP status */
        int status(R response);

        /** @return the response's headers */
        Map<String, ? extends Collection<String>> headers(R response);

        /** @return the response's content type, or null */
        String contentType(R response);

        /** @return the response's body */
        InputStream body(R response) throws IOException;

        /** Closes the response. */
        void close(R response);

        /** @return the same response with the given body, already read */
        R withBody(R response, byte[] body);

        /** @return the same response whose body reads from {@code body} */
        R withStream(R response, InputStream body);
    }

    /**
     * Treats one attempt's response.
     *
     * @param response the provider's response
     * @param context the attempt
     * @param adapter the library's response type
     * @param <R> the library's response type
     * @return the response to give the library: buffered, or streaming through a {@link MeteredStream}
     * @throws ErrorResponseException for a status of 400 or more, holding the buffered response
     * @throws IOException when the body cannot be read
     */
    public static <R> R onResponse(R response, CallContext context, Adapter<R> adapter) throws IOException {
        int status = adapter.status(response);
        Map<String, ? extends Collection<String>> headers = adapter.headers(response);
        if (status >= 400) {
            byte[] body = readAll(response, adapter);
            throw new ErrorResponseException(status, headers, new String(body, StandardCharsets.UTF_8),
                    adapter.withBody(response, body));
        }
        context.headers(headers);
        String type = adapter.contentType(response);
        if (type != null && type.toLowerCase(Locale.ROOT).startsWith("text/event-stream")) {
            return adapter.withStream(response, new MeteredStream(adapter.body(response), context.deferCompletion()));
        }
        byte[] body = readAll(response, adapter);
        if (type == null || type.toLowerCase(Locale.ROOT).contains("json")) {
            Usage.fromResponseBody(new String(body, StandardCharsets.UTF_8)).ifPresent(context::usage);
        }
        return adapter.withBody(response, body);
    }

    /**
     * After {@code execute} gave up: the provider's last error response when there was one, for the
     * library to raise its own exception; else the limiter's exception.
     *
     * @param error what {@code execute} threw (or its future failed with)
     * @param type the library's response type
     * @param <R> the library's response type
     * @return the last error response
     * @throws RuntimeException the limiter's exception when there is no provider response to give
     */
    public static <R> R lastResponseOrThrow(Throwable error, Class<R> type) {
        Throwable e = error;
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof CallFailedException && e.getCause() instanceof ErrorResponseException r
                && type.isInstance(r.response())) {
            return type.cast(r.response());
        }
        if (e instanceof RuntimeException re) {
            throw re;
        }
        if (e instanceof Error err) {
            throw err;
        }
        throw new CompletionException(e);
    }

    private static <R> byte[] readAll(R response, Adapter<R> adapter) throws IOException {
        try (InputStream in = adapter.body(response)) {
            return in == null ? new byte[0] : in.readAllBytes();
        } finally {
            adapter.close(response);
        }
    }
}
