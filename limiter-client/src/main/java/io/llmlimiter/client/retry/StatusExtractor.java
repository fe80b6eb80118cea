package io.llmlimiter.client.retry;

import java.util.Objects;
import java.util.Optional;

/**
 * Pulls the HTTP status, headers and body out of an exception thrown by an HTTP client or provider
 * SDK, so that failures from any client can be classified the same way.
 *
 * <p>Implementations must be stateless or otherwise thread-safe, must not throw, and must not
 * consume one-shot resources (such as streamed response bodies) that the caller still owns.
 */
@FunctionalInterface
public interface StatusExtractor {

    /**
     * Describes {@code throwable} if this extractor recognises it.
     *
     * @param throwable the exception thrown by the call (not {@code null})
     * @return the failure, or empty when this extractor does not recognise the exception
     */
    Optional<ProviderFailure> extract(Throwable throwable);

    /**
     * The built-in extractors, applied to the exception and then to each of its causes (outermost
     * first): {@link StatusExtractors#httpStatusException()}, {@link
     * StatusExtractors#serviceException()} (OpenAI and Anthropic Java SDKs) and {@link
     * StatusExtractors#codeAndResponse()} (Retrofit {@code HttpException} and holders of an OkHttp
     * {@code Response}).
     *
     * @return the shared, thread-safe default extractor
     */
    static StatusExtractor defaults() {
        return StatusExtractors.DEFAULTS;
    }

    /**
     * Tries this extractor first and {@code other} when this one does not recognise the exception.
     *
     * @param other the fallback extractor
     * @return the combined extractor
     */
    default StatusExtractor orElse(StatusExtractor other) {
        Objects.requireNonNull(other, "other");
        return t -> {
            Optional<ProviderFailure> mine = extract(t);
            return mine.isPresent() ? mine : other.extract(t);
        };
    }

    /**
     * Applies this extractor to the exception and then to each cause, returning the first match;
     * useful because clients often wrap HTTP failures in {@code ExecutionException},
     * {@code CompletionException} or their own exception types.
     *
     * @return the chain-walking extractor
     */
    default StatusExtractor walkingCauses() {
        return t -> {
            for (Throwable candidate : Causes.chain(t)) {
                Optional<ProviderFailure> found = extract(candidate);
                if (found.isPresent()) {
                    return found;
                }
            }
            return Optional.empty();
        };
    }

    /**
     * Always produces a failure: the extracted one, or a status-less {@link
     * ProviderFailure#ofCause(Throwable)} so that timeouts and connection errors can still be
     * classified from the exception type.
     *
     * @param throwable the exception thrown by the call
     * @return the failure description
     */
    default ProviderFailure describe(Throwable throwable) {
        Objects.requireNonNull(throwable, "throwable");
        return extract(throwable).orElseGet(() -> ProviderFailure.ofCause(throwable));
    }
}
