package io.llmlimiter.client.retry;

import java.util.Objects;

/**
 * Maps a {@link ProviderFailure} to a {@link FailureKind}.
 *
 * <p>Implementations must be thread-safe and must not throw. Compose them with {@link
 * #orElse(ErrorClassifier)} or override single cases with {@link #builder()}.
 */
@FunctionalInterface
public interface ErrorClassifier {

    /**
     * Classifies a failure.
     *
     * @param failure the failure (not {@code null})
     * @return its kind; {@link FailureKind#UNKNOWN} means "no opinion"
     */
    FailureKind classify(ProviderFailure failure);

    /**
     * The built-in rules:
     *
     * <ul>
     *   <li>a {@link io.llmlimiter.client.BudgetExceededException} anywhere in the cause chain (a
     *       call made inside this one passed a dollar budget): {@link FailureKind#QUOTA_EXHAUSTED};
     *   <li>any 4xx whose body mentions {@code insufficient_quota}, {@code
     *       billing_hard_limit_reached}, {@code billing_not_active}, "exceeded your current quota"
     *       or "credit balance is too low" (this covers {@code error.code} and {@code error.type},
     *       which are part of the body), and 402: {@link FailureKind#QUOTA_EXHAUSTED};
     *   <li>429: {@link FailureKind#RATE_LIMITED};
     *   <li>403: {@link FailureKind#RATE_LIMITED} if the body mentions "rate limit", "rate_limit",
     *       "ratelimit" or "too many requests", or an {@code x-ratelimit-remaining-*} or {@code
     *       anthropic-ratelimit-*-remaining} header is 0; otherwise {@link FailureKind#CLIENT_ERROR};
     *   <li>408: {@link FailureKind#TIMEOUT}; 409: {@link FailureKind#CONFLICT}; 529: {@link
     *       FailureKind#OVERLOADED};
     *   <li>500, 502, 503, 504 and other 5xx: {@link FailureKind#SERVER_ERROR} (the official SDKs
     *       retry every 5xx too);
     *   <li>other 4xx (400, 401, 404, 422, ...): {@link FailureKind#CLIENT_ERROR};
     *   <li>no status: by exception type along the cause chain. {@code HttpConnectTimeoutException},
     *       {@code ConnectException}, {@code ClosedChannelException} and I/O errors saying
     *       "connection reset", "broken pipe", "connection closed" or "received no bytes" are
     *       {@link FailureKind#CONNECTION}; {@code HttpTimeoutException}, {@code
     *       SocketTimeoutException} and {@code TimeoutException} are {@link FailureKind#TIMEOUT};
     *       interruption and everything else are {@link FailureKind#UNKNOWN}.
     * </ul>
     *
     * @return the shared, stateless default classifier
     */
    static ErrorClassifier defaults() {
        return DefaultErrorClassifier.INSTANCE;
    }

    /**
     * A builder whose rules are checked in the order added before falling back to {@link
     * #defaults()} (or another fallback).
     *
     * @return a new builder
     */
    static ErrorClassifierBuilder builder() {
        return new ErrorClassifierBuilder();
    }

    /**
     * Uses this classifier, and asks {@code fallback} only when this one answers {@link
     * FailureKind#UNKNOWN}; for example {@code defaults().orElse(myExceptionTypes)}.
     *
     * @param fallback the classifier for failures this one does not recognise
     * @return the combined classifier
     */
    default ErrorClassifier orElse(ErrorClassifier fallback) {
        Objects.requireNonNull(fallback, "fallback");
        return failure -> {
            FailureKind mine = classify(failure);
            return mine != FailureKind.UNKNOWN ? mine : fallback.classify(failure);
        };
    }
}
