package io.llmlimiter.client.retry;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.retry.SdkShapedFakes.FakeAnthropicServiceException;
import io.llmlimiter.client.retry.SdkShapedFakes.FakeOkHttpResponse;
import io.llmlimiter.client.retry.SdkShapedFakes.FakeOpenAiServiceException;
import io.llmlimiter.client.retry.SdkShapedFakes.FakeResponseHolderException;
import io.llmlimiter.client.retry.SdkShapedFakes.FakeRetrofitHttpException;
import io.llmlimiter.client.retry.SdkShapedFakes.FakeRetrofitResponse;
import io.llmlimiter.client.retry.SdkShapedFakes.FakeSdkHeaders;
import io.llmlimiter.client.retry.SdkShapedFakes.JsonValue;
import io.llmlimiter.client.retry.SdkShapedFakes.StringCodeException;
import io.llmlimiter.client.retry.SdkShapedFakes.ThrowingAccessorException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Test;

class StatusExtractorTest {

    private static final StatusExtractor DEFAULTS = StatusExtractor.defaults();

    @Test
    void httpStatusExceptionCarriesStatusHeadersAndBody() {
        HttpStatusException e = new HttpStatusException(429, Map.of("Retry-After", List.of("5")), "slow down");

        ProviderFailure failure = DEFAULTS.extract(e).orElseThrow();

        assertThat(failure.statusCode()).isEqualTo(OptionalInt.of(429));
        assertThat(failure.header("retry-after")).contains("5");
        assertThat(failure.body()).contains("slow down");
        assertThat(failure.cause()).containsSame(e);
        assertThat(e.getMessage()).isEqualTo("HTTP 429");
    }

    @Test
    void httpStatusExceptionWrapsAJavaNetHttpResponse() {
        HttpResponse<byte[]> response = new FakeResponse<>(503,
                HttpHeaders.of(Map.of("retry-after", List.of("2")), (n, v) -> true),
                "{\"error\":\"unavailable\"}".getBytes(StandardCharsets.UTF_8));

        HttpStatusException e = new HttpStatusException(response);

        assertThat(e.statusCode()).isEqualTo(503);
        assertThat(e.headers()).containsEntry("Retry-After", List.of("2"));
        assertThat(e.body()).contains("{\"error\":\"unavailable\"}");
        assertThat(ErrorClassifier.defaults().classify(e.toFailure())).isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void longBodiesAreTruncated() {
        HttpStatusException e = new HttpStatusException(500, null, "x".repeat(10_000));

        assertThat(e.body().orElseThrow()).hasSize(ProviderFailure.MAX_BODY_CHARS);
    }

    @Test
    void causesAreWalkedToFindTheHttpFailure() {
        HttpStatusException inner = new HttpStatusException(502);
        Throwable wrapped = new ExecutionException(new CompletionException(inner));

        assertThat(DEFAULTS.extract(wrapped).flatMap(ProviderFailure::cause)).containsSame(inner);
        assertThat(StatusExtractors.httpStatusException().extract(wrapped))
                .as("single extractors do not walk causes").isEmpty();
    }

    @Test
    void openAiShapedServiceExceptionsAreReadByAccessorNames() {
        FakeSdkHeaders headers = new FakeSdkHeaders(Map.of(
                "x-ratelimit-remaining-tokens", List.of("0"), "retry-after-ms", List.of("1200")));
        FakeOpenAiServiceException e = new FakeOpenAiServiceException(429, headers,
                new JsonValue(Map.of("code", "insufficient_quota", "message", "You exceeded your current quota")));

        ProviderFailure failure = DEFAULTS.extract(e).orElseThrow();

        assertThat(failure.statusCode()).isEqualTo(OptionalInt.of(429));
        assertThat(failure.header("X-RateLimit-Remaining-Tokens")).contains("0");
        assertThat(failure.body().orElseThrow()).contains("\"code\":\"insufficient_quota\"");
        assertThat(ErrorClassifier.defaults().classify(failure)).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
    }

    @Test
    void anthropicShapedServiceExceptionsWithStringBodiesAreRead() {
        FakeAnthropicServiceException e = new FakeAnthropicServiceException(529,
                Map.of("anthropic-ratelimit-requests-remaining", List.of("3")),
                "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}");

        ProviderFailure failure = DEFAULTS.extract(new RuntimeException(e)).orElseThrow();

        assertThat(failure.statusCode()).isEqualTo(OptionalInt.of(529));
        assertThat(failure.header("anthropic-ratelimit-requests-remaining")).contains("3");
        assertThat(ErrorClassifier.defaults().classify(failure)).isEqualTo(FailureKind.OVERLOADED);
    }

    @Test
    void retrofitShapedHttpExceptionsGiveStatusAndHeadersButLeaveTheOneShotBodyAlone() {
        FakeRetrofitResponse response = new FakeRetrofitResponse(409, new FakeSdkHeaders(Map.of("x-a", List.of("b"))));
        FakeRetrofitHttpException e = new FakeRetrofitHttpException(response);

        ProviderFailure failure = DEFAULTS.extract(e).orElseThrow();

        assertThat(failure.statusCode()).isEqualTo(OptionalInt.of(409));
        assertThat(failure.header("X-A")).contains("b");
        assertThat(failure.body()).isEmpty();
        assertThat(response.errorBodyReads).isZero();
    }

    @Test
    void okHttpResponseHoldersArePeekedForTheBody() {
        FakeOkHttpResponse response = new FakeOkHttpResponse(403, Map.of(), "Rate limit exceeded");

        ProviderFailure failure = DEFAULTS.extract(new FakeResponseHolderException(response)).orElseThrow();

        assertThat(failure.statusCode()).isEqualTo(OptionalInt.of(403));
        assertThat(failure.body()).contains("Rate limit exceeded");
        assertThat(ErrorClassifier.defaults().classify(failure)).isEqualTo(FailureKind.RATE_LIMITED);
    }

    @Test
    void lookAlikeAccessorsWithOtherTypesOrRangesAreNotMistakenForStatuses() {
        assertThat(DEFAULTS.extract(new StringCodeException())).isEmpty();
        assertThat(DEFAULTS.extract(new FakeOpenAiServiceException(42, null, null))).isEmpty();
        assertThat(DEFAULTS.extract(new ThrowingAccessorException())).isEmpty();
    }

    @Test
    void describeFallsBackToAStatuslessFailureForNetworkErrors() {
        SocketTimeoutException timeout = new SocketTimeoutException("Read timed out");

        ProviderFailure failure = DEFAULTS.describe(timeout);

        assertThat(failure.statusCode()).isEmpty();
        assertThat(failure.cause()).containsSame(timeout);
        assertThat(ErrorClassifier.defaults().classify(failure)).isEqualTo(FailureKind.TIMEOUT);
    }

    @Test
    void extractorsComposeWithOrElse() {
        StatusExtractor custom = t -> Optional.of(ProviderFailure.ofResponse(418, null, null, t));
        StatusExtractor combined = StatusExtractors.httpStatusException().orElse(custom);

        assertThat(combined.extract(new HttpStatusException(500)).orElseThrow().statusCode()).hasValue(500);
        assertThat(combined.extract(new IllegalStateException()).orElseThrow().statusCode()).hasValue(418);
    }

    private static final class FakeResponse<T> implements HttpResponse<T> {
        private final int status;
        private final HttpHeaders headers;
        private final T body;

        FakeResponse(int status, HttpHeaders headers, T body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }

        @Override
        public int statusCode() {
            return status;
        }

        @Override
        public HttpRequest request() {
            return HttpRequest.newBuilder(URI.create("https://api.example.com/v1/chat")).build();
        }

        @Override
        public Optional<HttpResponse<T>> previousResponse() {
            return Optional.empty();
        }

        @Override
        public HttpHeaders headers() {
            return headers;
        }

        @Override
        public T body() {
            return body;
        }

        @Override
        public Optional<SSLSession> sslSession() {
            return Optional.empty();
        }

        @Override
        public URI uri() {
            return request().uri();
        }

        @Override
        public HttpClient.Version version() {
            return HttpClient.Version.HTTP_1_1;
        }
    }
}
