package io.llmlimiter.anthropic;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.AnthropicClientAsync;
import com.anthropic.core.http.Interceptor;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import java.net.URI;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * The Anthropic Java SDK under the fleet budget, through the SDK's documented hook for its HTTP
 * client, an {@link Interceptor}: every attempt the SDK makes goes through
 * {@link LlmLimiter#execute} (or {@code executeAsync}): it waits for a permit of its target, its
 * response's {@code anthropic-ratelimit-*} headers and usage are reported, and a 429, 529 or other
 * 5xx is retried by the limiter alone, with the shared cooldown and {@code Retry-After}. The SDK's
 * own retries are set to 0. When the limiter gives up, the SDK gets the provider's last response
 * and raises its own exception for it ({@code RateLimitException}, {@code BadRequestException}, ...).
 *
 * <pre>{@code
 * AnthropicClient client = LimitedAnthropic.client(limiter, AnthropicOkHttpClient.builder().apiKey(key).build());
 * }</pre>
 *
 * <p>Which calls are budgeted: a request whose JSON body names a {@code model} (messages; not
 * batches, whose body names none, nor {@code count_tokens}), under the target {@code Targets.forEndpoint(baseUrl, model)} (e.g.
 * {@code anthropic/claude-sonnet-4-5}), with the estimate of
 * {@link io.llmlimiter.client.http.ModelRequest} ({@code max_tokens} is the output). Others (listing
 * models, files) pass through unbudgeted. A streamed answer holds its permit until the stream ends
 * and records the usage of its {@code message_start} and last {@code message_delta} events. This
 * class is stateless and thread-safe.
 */
public final class LimitedAnthropic {

    private LimitedAnthropic() {
    }

    /**
     * @param limiter the limiter
     * @param client a client as the SDK builds it
     * @return the same client with every call under the budget and the SDK's own retries off
     */
    public static AnthropicClient client(LlmLimiter limiter, AnthropicClient client) {
        return builder(limiter).client(client);
    }

    /**
     * @param limiter the limiter
     * @param client an async client as the SDK builds it
     * @return the same client with every call under the budget and the SDK's own retries off
     */
    public static AnthropicClientAsync clientAsync(LlmLimiter limiter, AnthropicClientAsync client) {
        return builder(limiter).clientAsync(client);
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
         *     (default 1024; the Messages API always sets {@code max_tokens})
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
         * The interceptor, for {@code addInterceptor(...)} on the SDK's builders; set
         * {@code maxRetries(0)} there too, so that the limiter alone retries.
         *
         * @return an interceptor that sends each attempt under the budget
         */
        public Interceptor interceptor() {
            return transport -> new LimitedHttpClient(limiter, transport, targets, defaultOutputTokens);
        }

        /**
         * @param client a client as the SDK builds it
         * @return the same client with every call under the budget and the SDK's own retries off
         */
        public AnthropicClient client(AnthropicClient client) {
            Interceptor interceptor = interceptor();
            return client.withOptions(o -> o.addInterceptor(interceptor).maxRetries(0));
        }

        /**
         * @param client an async client as the SDK builds it
         * @return the same client with every call under the budget and the SDK's own retries off
         */
        public AnthropicClientAsync clientAsync(AnthropicClientAsync client) {
            Interceptor interceptor = interceptor();
            return client.withOptions(o -> o.addInterceptor(interceptor).maxRetries(0));
        }
    }
}
