package io.llmlimiter.client.retry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class ErrorClassifierTest {

    private static final ErrorClassifier DEFAULTS = ErrorClassifier.defaults();

    private static final String OPENAI_QUOTA = "{\"error\":{\"message\":\"You exceeded your current quota, "
            + "please check your plan and billing details.\",\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}";

    static Stream<Arguments> httpCases() {
        Map<String, List<String>> none = Map.of();
        return Stream.of(
                arguments("429 plain", 429, "", none, FailureKind.RATE_LIMITED),
                arguments("429 rate limit body", 429, "{\"error\":{\"code\":\"rate_limit_exceeded\"}}", none,
                        FailureKind.RATE_LIMITED),
                arguments("429 OpenAI insufficient_quota", 429, OPENAI_QUOTA, none, FailureKind.QUOTA_EXHAUSTED),
                arguments("429 error.code only", 429, "{\"error\":{\"code\":\"insufficient_quota\"}}", none,
                        FailureKind.QUOTA_EXHAUSTED),
                arguments("429 billing hard limit", 429, "{\"error\":{\"type\":\"billing_hard_limit_reached\"}}", none,
                        FailureKind.QUOTA_EXHAUSTED),
                arguments("429 truncated non-JSON quota text", 429, "You exceeded your current quota, ple", none,
                        FailureKind.QUOTA_EXHAUSTED),
                arguments("400 Anthropic credit balance", 400, "{\"type\":\"error\",\"error\":{\"type\":"
                        + "\"invalid_request_error\",\"message\":\"Your credit balance is too low to access the "
                        + "Anthropic API.\"}}", none, FailureKind.QUOTA_EXHAUSTED),
                arguments("402 payment required", 402, "", none, FailureKind.QUOTA_EXHAUSTED),
                arguments("403 rate limit wording", 403, "Rate limit exceeded for this key", none,
                        FailureKind.RATE_LIMITED),
                arguments("403 rate_limit code", 403, "{\"error\":{\"type\":\"rate_limit_error\"}}", none,
                        FailureKind.RATE_LIMITED),
                arguments("403 too many requests", 403, "Too Many Requests", none, FailureKind.RATE_LIMITED),
                arguments("403 OpenAI remaining header 0", 403, "forbidden",
                        Map.of("X-RateLimit-Remaining-Requests", List.of("0")), FailureKind.RATE_LIMITED),
                arguments("403 Anthropic remaining header 0", 403, "",
                        Map.of("anthropic-ratelimit-tokens-remaining", List.of("0")), FailureKind.RATE_LIMITED),
                arguments("403 remaining header nonzero", 403, "",
                        Map.of("x-ratelimit-remaining-requests", List.of("12")), FailureKind.CLIENT_ERROR),
                arguments("403 permission denied", 403, "{\"error\":{\"type\":\"permission_error\"}}", none,
                        FailureKind.CLIENT_ERROR),
                arguments("403 quota wins over rate limit", 403, "rate limit: insufficient_quota", none,
                        FailureKind.QUOTA_EXHAUSTED),
                arguments("408", 408, "", none, FailureKind.TIMEOUT),
                arguments("409", 409, "", none, FailureKind.CONFLICT),
                arguments("500", 500, "", none, FailureKind.SERVER_ERROR),
                arguments("502", 502, "", none, FailureKind.SERVER_ERROR),
                arguments("503", 503, "", none, FailureKind.SERVER_ERROR),
                arguments("504", 504, "", none, FailureKind.SERVER_ERROR),
                arguments("500 mentioning quota stays a server error", 500, "insufficient_quota", none,
                        FailureKind.SERVER_ERROR),
                arguments("529 overloaded", 529, "{\"error\":{\"type\":\"overloaded_error\"}}", none,
                        FailureKind.OVERLOADED),
                arguments("400", 400, "{\"error\":{\"type\":\"invalid_request_error\"}}", none,
                        FailureKind.CLIENT_ERROR),
                arguments("401", 401, "", none, FailureKind.CLIENT_ERROR),
                arguments("404", 404, "", none, FailureKind.CLIENT_ERROR),
                arguments("413", 413, "", none, FailureKind.CLIENT_ERROR),
                arguments("422", 422, "", none, FailureKind.CLIENT_ERROR),
                arguments("200 is not a failure we understand", 200, "", none, FailureKind.UNKNOWN));
    }

    @ParameterizedTest(name = "{0} -> {4}")
    @MethodSource("httpCases")
    void httpFailuresAreClassifiedByStatusBodyAndHeaders(
            String name, int status, String body, Map<String, List<String>> headers, FailureKind expected) {
        ProviderFailure failure = ProviderFailure.ofResponse(status, headers, body, null);

        assertThat(DEFAULTS.classify(failure)).isEqualTo(expected);
    }

    static Stream<Arguments> networkCases() {
        return Stream.of(
                arguments(new HttpConnectTimeoutException("connect timed out"), FailureKind.CONNECTION),
                arguments(new HttpTimeoutException("request timed out"), FailureKind.TIMEOUT),
                arguments(new SocketTimeoutException("Read timed out"), FailureKind.TIMEOUT),
                arguments(new TimeoutException(), FailureKind.TIMEOUT),
                arguments(new ConnectException("Connection refused"), FailureKind.CONNECTION),
                arguments(new IOException("Connection reset by peer"), FailureKind.CONNECTION),
                arguments(new ClosedChannelException(), FailureKind.CONNECTION),
                arguments(new ExecutionException(new SocketTimeoutException()), FailureKind.TIMEOUT),
                arguments(new RuntimeException("wrapped", new ConnectException()), FailureKind.CONNECTION),
                arguments(new IOException("No space left on device"), FailureKind.UNKNOWN),
                arguments(new InterruptedException(), FailureKind.UNKNOWN),
                arguments(new IllegalStateException("bug"), FailureKind.UNKNOWN));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("networkCases")
    void failuresWithoutAResponseAreClassifiedByExceptionType(Throwable cause, FailureKind expected) {
        assertThat(DEFAULTS.classify(ProviderFailure.ofCause(cause))).isEqualTo(expected);
    }

    @ParameterizedTest
    @EnumSource(value = FailureKind.class, names = {"QUOTA_EXHAUSTED", "CLIENT_ERROR", "UNKNOWN"})
    void quotaClientAndUnknownFailuresAreNeverRetried(FailureKind kind) {
        assertThat(kind.retryable()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(value = FailureKind.class, names = {"QUOTA_EXHAUSTED", "CLIENT_ERROR", "UNKNOWN"},
            mode = EnumSource.Mode.EXCLUDE)
    void transientFailuresAreRetryable(FailureKind kind) {
        assertThat(kind.retryable()).isTrue();
    }

    @Test
    void orElseConsultsTheFallbackOnlyForUnknownFailures() {
        ErrorClassifier classifier = DEFAULTS.orElse(f -> FailureKind.CONNECTION);

        assertThat(classifier.classify(ProviderFailure.ofCause(new IllegalStateException())))
                .isEqualTo(FailureKind.CONNECTION);
        assertThat(classifier.classify(ProviderFailure.ofResponse(400, null, null, null)))
                .isEqualTo(FailureKind.CLIENT_ERROR);
    }

    @Test
    void builderRulesOverrideTheDefaultsInOrder() {
        class FlakyBackendException extends RuntimeException {
        }
        ErrorClassifier classifier = ErrorClassifier.builder()
                .status(404, FailureKind.SERVER_ERROR)
                .causeType(FlakyBackendException.class, FailureKind.CONNECTION)
                .when(f -> f.body().orElse("").contains("busy"), FailureKind.OVERLOADED)
                .status(400, FailureKind.CONFLICT)
                .build();

        assertThat(classifier.classify(ProviderFailure.ofResponse(404, null, null, null)))
                .isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(classifier.classify(ProviderFailure.ofCause(new RuntimeException(new FlakyBackendException()))))
                .isEqualTo(FailureKind.CONNECTION);
        assertThat(classifier.classify(ProviderFailure.ofResponse(400, null, "busy", null)))
                .as("first matching rule wins").isEqualTo(FailureKind.OVERLOADED);
        assertThat(classifier.classify(ProviderFailure.ofResponse(429, null, null, null)))
                .as("unmatched failures fall back to the defaults").isEqualTo(FailureKind.RATE_LIMITED);
    }

    @Test
    void builderFallbackCanBeReplaced() {
        ErrorClassifier classifier = ErrorClassifier.builder().fallback(f -> FailureKind.UNKNOWN).build();

        assertThat(classifier.classify(ProviderFailure.ofResponse(429, null, null, null)))
                .isEqualTo(FailureKind.UNKNOWN);
    }
}
