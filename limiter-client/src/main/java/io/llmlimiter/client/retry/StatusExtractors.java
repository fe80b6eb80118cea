package io.llmlimiter.client.retry;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Built-in {@link StatusExtractor}s. The SDK-facing ones match accessor <em>method names</em>
 * rather than class names, so no SDK needs to be on the class path and look-alike exceptions from
 * other libraries are understood too.
 *
 * <p>All extractors returned here are stateless and thread-safe.
 */
public final class StatusExtractors {

    /** Peek limit for OkHttp bodies: enough bytes for {@link ProviderFailure#MAX_BODY_CHARS} chars. */
    private static final long PEEK_BYTES = ProviderFailure.MAX_BODY_CHARS * 4L;

    private static final StatusExtractor HTTP_STATUS_EXCEPTION = t -> t instanceof HttpStatusException
            ? Optional.of(((HttpStatusException) t).toFailure()) : Optional.empty();

    private static final StatusExtractor SERVICE_EXCEPTION = StatusExtractors::fromServiceException;

    private static final StatusExtractor CODE_AND_RESPONSE = StatusExtractors::fromCodeAndResponse;

    static final StatusExtractor DEFAULTS =
            HTTP_STATUS_EXCEPTION.orElse(SERVICE_EXCEPTION).orElse(CODE_AND_RESPONSE).walkingCauses();

    private StatusExtractors() {
    }

    /**
     * Recognises {@link HttpStatusException}, which users throw for {@code java.net.http} responses.
     * Does not look at causes; see {@link StatusExtractor#walkingCauses()}.
     *
     * @return the extractor
     */
    public static StatusExtractor httpStatusException() {
        return HTTP_STATUS_EXCEPTION;
    }

    /**
     * Recognises exceptions shaped like the OpenAI Java SDK's {@code
     * com.openai.errors.OpenAIServiceException} and the Anthropic Java SDK's {@code
     * com.anthropic.errors.AnthropicServiceException}: a public {@code int statusCode()}, plus
     * optional {@code headers()} (an SDK {@code Headers} with {@code names()} and {@code
     * values(String)}, an OkHttp {@code Headers}, a {@code java.net.http.HttpHeaders} or a {@code
     * Map}) and {@code body()} (a {@code String} or an SDK {@code JsonValue}, rendered as JSON).
     * Does not look at causes.
     *
     * @return the extractor
     */
    public static StatusExtractor serviceException() {
        return SERVICE_EXCEPTION;
    }

    /**
     * Recognises Retrofit's {@code retrofit2.HttpException} (public {@code int code()} and {@code
     * response()}) and exceptions holding an OkHttp {@code okhttp3.Response} in {@code response()}
     * (whose own {@code code()} gives the status). Headers come from {@code response().headers()}.
     * The body is read only via OkHttp's non-consuming {@code peekBody(long)}; Retrofit's one-shot
     * {@code errorBody()} is deliberately left for the caller. Does not look at causes.
     *
     * @return the extractor
     */
    public static StatusExtractor codeAndResponse() {
        return CODE_AND_RESPONSE;
    }

    private static Optional<ProviderFailure> fromServiceException(Throwable t) {
        OptionalInt status = ReflectiveAccess.intValue(t, "statusCode");
        if (!isHttpStatus(status)) {
            return Optional.empty();
        }
        Map<String, List<String>> headers =
                ReflectiveAccess.call(t, "headers").map(ReflectiveAccess::headers).orElse(Map.of());
        String body = ReflectiveAccess.call(t, "body").map(ReflectiveAccess::bodyText).orElse(null);
        return Optional.of(failure(status.getAsInt(), headers, body, t));
    }

    private static Optional<ProviderFailure> fromCodeAndResponse(Throwable t) {
        Optional<Object> response = ReflectiveAccess.call(t, "response");
        OptionalInt status = ReflectiveAccess.intValue(t, "code");
        if (!isHttpStatus(status) && response.isPresent()) {
            status = ReflectiveAccess.intValue(response.get(), "code");
        }
        if (!isHttpStatus(status)) {
            return Optional.empty();
        }
        Map<String, List<String>> headers = response.flatMap(r -> ReflectiveAccess.call(r, "headers"))
                .map(ReflectiveAccess::headers).orElse(Map.of());
        String body = response
                .flatMap(r -> ReflectiveAccess.call(r, "peekBody", new Class<?>[] {long.class}, PEEK_BYTES))
                .flatMap(peeked -> ReflectiveAccess.call(peeked, "string"))
                .map(ReflectiveAccess::bodyText)
                .orElse(null);
        return Optional.of(failure(status.getAsInt(), headers, body, t));
    }

    private static ProviderFailure failure(int status, Map<String, List<String>> headers, String body, Throwable t) {
        return ProviderFailure.ofResponse(status, headers, body, t);
    }

    private static boolean isHttpStatus(OptionalInt status) {
        return status.isPresent() && status.getAsInt() >= 100 && status.getAsInt() <= 599;
    }
}
