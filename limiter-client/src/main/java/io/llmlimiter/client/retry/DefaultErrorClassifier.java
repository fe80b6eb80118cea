package io.llmlimiter.client.retry;

import io.llmlimiter.client.BudgetExceededException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The rules documented on {@link ErrorClassifier#defaults()}.
 *
 * <p>Stateless and thread-safe.
 */
final class DefaultErrorClassifier implements ErrorClassifier {

    static final DefaultErrorClassifier INSTANCE = new DefaultErrorClassifier();

    /**
     * OpenAI and Anthropic wording for "out of money": waiting for the window to reset won't help.
     * Matched as substrings of the body so that truncated or non-JSON bodies still match.
     */
    private static final List<String> QUOTA_MARKERS = List.of(
            "insufficient_quota",
            "billing_hard_limit_reached",
            "billing_not_active",
            "exceeded your current quota",
            "credit balance is too low");

    private static final List<String> RATE_LIMIT_MARKERS = List.of(
            "rate limit", "rate_limit", "ratelimit", "too many requests");

    private DefaultErrorClassifier() {
    }

    /**
     * Applies the default rules.
     *
     * @param failure the failure
     * @return its kind
     */
    @Override
    public FailureKind classify(ProviderFailure failure) {
        if (refusedByBudget(failure)) {
            return FailureKind.QUOTA_EXHAUSTED;
        }
        if (failure.statusCode().isEmpty()) {
            return failure.cause().map(NetworkFailures::classify).orElse(FailureKind.UNKNOWN);
        }
        int status = failure.statusCode().getAsInt();
        String body = failure.body().map(b -> b.toLowerCase(Locale.ROOT)).orElse("");
        if (status >= 400 && status < 500 && containsAny(body, QUOTA_MARKERS)) {
            return FailureKind.QUOTA_EXHAUSTED;
        }
        switch (status) {
            case 402:
                return FailureKind.QUOTA_EXHAUSTED;
            case 403:
                return containsAny(body, RATE_LIMIT_MARKERS) || exhaustedHeader(failure.headers())
                        ? FailureKind.RATE_LIMITED : FailureKind.CLIENT_ERROR;
            case 408:
                return FailureKind.TIMEOUT;
            case 409:
                return FailureKind.CONFLICT;
            case 429:
                return FailureKind.RATE_LIMITED;
            case 529:
                return FailureKind.OVERLOADED;
            default:
                if (status >= 500) {
                    return FailureKind.SERVER_ERROR;
                }
                return status >= 400 ? FailureKind.CLIENT_ERROR : FailureKind.UNKNOWN;
        }
    }

    /** The limiter's own dollar budget: it frees at the next period or as spend ages out, never by retrying soon. */
    private static boolean refusedByBudget(ProviderFailure failure) {
        return failure.cause().map(Causes::chain).orElse(List.of()).stream()
                .anyMatch(BudgetExceededException.class::isInstance);
    }

    private static boolean containsAny(String lowerBody, List<String> markers) {
        return markers.stream().anyMatch(lowerBody::contains);
    }

    /** True if a provider's "remaining" rate-limit header says nothing is left. */
    private static boolean exhaustedHeader(Map<String, List<String>> headers) {
        for (Map.Entry<String, List<String>> header : headers.entrySet()) {
            String name = header.getKey().toLowerCase(Locale.ROOT);
            boolean remaining = name.startsWith("x-ratelimit-remaining")
                    || (name.startsWith("anthropic-ratelimit-") && name.endsWith("-remaining"));
            if (remaining && header.getValue().stream().anyMatch(DefaultErrorClassifier::isZero)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isZero(String value) {
        try {
            return Double.parseDouble(value.trim()) == 0.0;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * Names this classifier for logs.
     *
     * @return {@code "ErrorClassifier.defaults()"}
     */
    @Override
    public String toString() {
        return "ErrorClassifier.defaults()";
    }
}
