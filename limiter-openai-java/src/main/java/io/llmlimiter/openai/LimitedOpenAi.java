package io.llmlimiter.openai;

import com.openai.client.OpenAIClient;
import com.openai.client.OpenAIClientAsync;
import com.openai.client.OpenAIClientAsyncImpl;
import com.openai.client.OpenAIClientImpl;
import com.openai.client.okhttp.OkHttpClient;
import com.openai.core.ClientOptions;
import com.openai.core.http.HttpClient;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import java.net.URI;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * The OpenAI Java SDK under the fleet budget. Every attempt the SDK makes goes through
 * {@link LlmLimiter#execute} (or {@code executeAsync}): it waits for a permit of its target, its
 * response's rate-limit headers and usage are reported, and a 429 or 5xx is retried by the
 * limiter alone, with the shared cooldown and {@code Retry-After}. The SDK's own retries are set to
 * 0. When the limiter gives up, the SDK gets the provider's last response and raises its own
 * exception for it ({@code RateLimitException}, {@code BadRequestException}, ...).
 *
 * <pre>{@code
 * OpenAIClient client = LimitedOpenAi.client(limiter, ClientOptions.builder().apiKey(key));
 * }</pre>
 *
 * <p>Which calls are budgeted: a request whose JSON body names a {@code model} (chat completions,
 * responses, completions, embeddings), under the target {@code Targets.forEndpoint(baseUrl, model)}
 * (e.g. {@code openai/gpt-4o}), with the estimate of {@link io.llmlimiter.client.http.ModelRequest}.
 * Others (listing models, files, multipart uploads) pass through unbudgeted. A streamed answer
 * holds its permit until the stream ends and records the usage of its last chunk: set
 * {@code stream_options.include_usage} ({@code ChatCompletionStreamOptions.builder().includeUsage(true)}),
 * else the estimate stands. The Realtime API's web sockets are not available through this client.
 * This class is stateless and thread-safe.
 */
public final class LimitedOpenAi {

    private LimitedOpenAi() {
    }

    /**
     * @param limiter the limiter
     * @param options the SDK's options (API key, base URL, timeout...); the HTTP client and
     *     {@code maxRetries(0)} are set here
     * @return a client whose every call passes the budget
     */
    public static OpenAIClient client(LlmLimiter limiter, ClientOptions.Builder options) {
        return builder(limiter).client(options);
    }

    /**
     * @param limiter the limiter
     * @param options the SDK's options; the HTTP client and {@code maxRetries(0)} are set here
     * @return an async client whose every call passes the budget
     */
    public static OpenAIClientAsync clientAsync(LlmLimiter limiter, ClientOptions.Builder options) {
        return builder(limiter).clientAsync(options);
    }

    /**
     * @param limiter the limiter
     * @return a builder, for a target mapping or a default output estimate of your own
     */
    public static Builder builder(LlmLimiter limiter) {
        return new Builder(limiter);
    }

    /** Builds limited clients. Not thread-safe. */
    public static final class Builder {
        private final LlmLimiter limiter;
        private BiFunction<URI, String, Target> targets = Targets::forEndpoint;
        private long defaultOutputTokens = 1024;

        private Builder(LlmLimiter limiter) {
            this.limiter = Objects.requireNonNull(limiter, "limiter must not be null");
        }

        /**
         * @param mapping names the target of a call from the client's base URL and the model
         *     (default {@link Targets#forEndpoint})
         * @return this builder
         */
        public Builder targets(BiFunction<URI, String, Target> mapping) {
            this.targets = Objects.requireNonNull(mapping, "targets must not be null");
            return this;
        }

        /**
         * @param tokens the output tokens a call is expected to use when it sets no maximum
         *     (default 1024)
         * @return this builder
         */
        public Builder defaultOutputTokens(long tokens) {
            if (tokens < 0) {
                throw new IllegalArgumentException("defaultOutputTokens must be >= 0, got " + tokens);
            }
            this.defaultOutputTokens = tokens;
            return this;
        }

        /**
         * Wraps an SDK HTTP client, for {@code ClientOptions.Builder.httpClient(...)}; set the
         * options' {@code maxRetries(0)} too, so that the limiter alone retries.
         *
         * @param transport the client that sends the requests (e.g. the SDK's {@code OkHttpClient})
         * @return the client that sends each attempt under the budget
         */
        public HttpClient httpClient(HttpClient transport) {
            return new LimitedHttpClient(limiter, Objects.requireNonNull(transport, "transport must not be null"),
                    targets, defaultOutputTokens);
        }

        /**
         * @param options the SDK's options; the HTTP client and {@code maxRetries(0)} are set here
         * @return a client whose every call passes the budget
         */
        public OpenAIClient client(ClientOptions.Builder options) {
            return new OpenAIClientImpl(limited(options));
        }

        /**
         * @param options the SDK's options; the HTTP client and {@code maxRetries(0)} are set here
         * @return an async client whose every call passes the budget
         */
        public OpenAIClientAsync clientAsync(ClientOptions.Builder options) {
            return new OpenAIClientAsyncImpl(limited(options));
        }

        private ClientOptions limited(ClientOptions.Builder options) {
            Objects.requireNonNull(options, "options must not be null");
            HttpClient transport = OkHttpClient.builder().timeout(options.timeout()).build();
            return options.httpClient(httpClient(transport)).maxRetries(0).build();
        }
    }
}
