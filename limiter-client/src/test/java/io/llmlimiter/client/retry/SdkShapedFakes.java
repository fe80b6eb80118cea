package io.llmlimiter.client.retry;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Test doubles shaped like the OpenAI/Anthropic Java SDK exceptions, Retrofit's {@code HttpException}
 * and OkHttp's {@code Response}. The extractors match accessor names, not class names, so these
 * local classes exercise the same code paths as the real SDK types.
 */
final class SdkShapedFakes {

    private SdkShapedFakes() {
    }

    /** Stand-in for com.openai.core.JsonValue: matched by simple name and serialised with Jackson. */
    public static final class JsonValue {
        private final Map<String, Object> value;

        JsonValue(Map<String, Object> value) {
            this.value = new TreeMap<>(value);
        }

        @com.fasterxml.jackson.annotation.JsonValue
        public Map<String, Object> value() {
            return value;
        }
    }

    /** Stand-in for com.openai.core.http.Headers / okhttp3.Headers: names() and values(String). */
    public static final class FakeSdkHeaders {
        private final Map<String, List<String>> map;

        FakeSdkHeaders(Map<String, List<String>> map) {
            this.map = map;
        }

        public Set<String> names() {
            return map.keySet();
        }

        public List<String> values(String name) {
            return map.getOrDefault(name, List.of());
        }
    }

    /** Shaped like com.openai.errors.OpenAIServiceException, including its Optional-typed code(). */
    public static final class FakeOpenAiServiceException extends RuntimeException {
        private final int status;
        private final FakeSdkHeaders headers;
        private final JsonValue body;

        FakeOpenAiServiceException(int status, FakeSdkHeaders headers, JsonValue body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }

        public int statusCode() {
            return status;
        }

        public FakeSdkHeaders headers() {
            return headers;
        }

        public JsonValue body() {
            return body;
        }

        public Optional<String> code() {
            return Optional.of("insufficient_quota");
        }
    }

    /** Shaped like an older com.anthropic.errors.AnthropicServiceException with a String body. */
    public static final class FakeAnthropicServiceException extends RuntimeException {
        private final int status;
        private final Map<String, List<String>> headers;
        private final String body;

        FakeAnthropicServiceException(int status, Map<String, List<String>> headers, String body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }

        public int statusCode() {
            return status;
        }

        public Map<String, List<String>> headers() {
            return headers;
        }

        public String body() {
            return body;
        }
    }

    /** Shaped like retrofit2.Response: code(), headers(), and a one-shot errorBody(). */
    public static final class FakeRetrofitResponse {
        private final int code;
        private final FakeSdkHeaders headers;
        int errorBodyReads;

        FakeRetrofitResponse(int code, FakeSdkHeaders headers) {
            this.code = code;
            this.headers = headers;
        }

        public int code() {
            return code;
        }

        public FakeSdkHeaders headers() {
            return headers;
        }

        public String errorBody() {
            errorBodyReads++;
            return "consumed";
        }
    }

    /** Shaped like retrofit2.HttpException. */
    public static final class FakeRetrofitHttpException extends Exception {
        private final FakeRetrofitResponse response;

        FakeRetrofitHttpException(FakeRetrofitResponse response) {
            this.response = response;
        }

        public int code() {
            return response.code();
        }

        public FakeRetrofitResponse response() {
            return response;
        }
    }

    /** Shaped like okhttp3.Response: code(), headers(), peekBody(long). */
    public static final class FakeOkHttpResponse {
        private final int code;
        private final Map<String, List<String>> headers;
        private final String body;

        FakeOkHttpResponse(int code, Map<String, List<String>> headers, String body) {
            this.code = code;
            this.headers = headers;
            this.body = body;
        }

        public int code() {
            return code;
        }

        public Map<String, List<String>> headers() {
            return headers;
        }

        public PeekedBody peekBody(long byteCount) {
            return new PeekedBody(body);
        }
    }

    /** Shaped like okhttp3.ResponseBody. */
    public static final class PeekedBody {
        private final String text;

        PeekedBody(String text) {
            this.text = text;
        }

        public String string() {
            return text;
        }
    }

    /** A user exception holding an OkHttp-style response. */
    public static final class FakeResponseHolderException extends RuntimeException {
        private final FakeOkHttpResponse response;

        FakeResponseHolderException(FakeOkHttpResponse response) {
            this.response = response;
        }

        public FakeOkHttpResponse response() {
            return response;
        }
    }

    /** Has a code() that is not an HTTP status. */
    public static final class StringCodeException extends RuntimeException {
        public String code() {
            return "E42";
        }
    }

    /** Accessors that throw must not break extraction. */
    public static final class ThrowingAccessorException extends RuntimeException {
        public int statusCode() {
            throw new IllegalStateException("boom");
        }
    }
}
