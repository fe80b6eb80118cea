package io.llmlimiter.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.ChatRequestOptions;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;

import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * Puts LangChain4j chat models under the fleet budget: every call of the returned model (every
 * round trip of an AI service's tool loop included) is one {@link LlmLimiter#execute}, which owns
 * the whole retry loop. Build the model itself with {@code maxRetries(0)}, so that its own
 * retries, blind to the fleet, never run.
 *
 * <pre>{@code
 * ChatModel model = LlmLimited.chatModel(
 *         OpenAiChatModel.builder().apiKey(key).modelName("gpt-4o-mini").maxRetries(0).build(),
 *         limiter, Targets.of("openai", "gpt-4o-mini"));
 * }</pre>
 *
 * <p>Per call: the estimate is the request's messages and tools counted with jtokkit plus its
 * {@code maxOutputTokens} (see {@link ChatEstimates}); the usage is {@code ChatResponse.tokenUsage()}
 * (streaming: the final response's); the headers come from the raw HTTP response where the
 * provider module keeps it ({@code rawHttpResponse()} of the OpenAI and Anthropic modules). The
 * model's exceptions ({@code RateLimitException}, {@code InvalidRequestException}...) carry the
 * HTTP status, which the limiter's classification reads: a 429 is retried by the limiter alone, a
 * 400 fails at once. LangChain4j's HTTP errors keep no headers, so a 429's {@code Retry-After} is
 * not seen: the limiter's own backoff and the fleet-wide cooldown apply instead. When the call
 * fails for good, the model's own last exception is thrown, with the limiter's
 * {@link io.llmlimiter.client.CallFailedException} attached as suppressed.
 *
 * <p>Tenant and priority: a caller may name them per call in the {@link ChatRequestOptions}
 * listener attributes under {@link #TENANT} and {@link #PRIORITY}; a target function given to
 * {@link #builder(LlmLimiter)} sees them (e.g. to give each tenant its own budget).
 *
 * <p>The returned models are thread-safe when the wrapped ones are.
 */
public final class LlmLimited {

    /** The {@link ChatRequestOptions} listener attribute naming the tenant a call is made for. */
    public static final String TENANT = "llmlimiter.tenant";
    /** The {@link ChatRequestOptions} listener attribute giving a call's priority. */
    public static final String PRIORITY = "llmlimiter.priority";
    /** Output tokens reserved for a request that names no {@code maxOutputTokens}, nor its model. */
    public static final int DEFAULT_MAX_OUTPUT_TOKENS = 1024;

    private LlmLimited() {
    }

    /**
     * @param model the model, built with {@code maxRetries(0)}
     * @param limiter the limiter
     * @param target the budget every call of this model goes under
     * @return the limited model
     */
    public static ChatModel chatModel(ChatModel model, LlmLimiter limiter, Target target) {
        return builder(limiter).target(target).build(model);
    }

    /**
     * @param model the streaming model
     * @param limiter the limiter
     * @param target the budget every call of this model goes under
     * @return the limited model; the permit is completed when the stream ends
     */
    public static StreamingChatModel streamingChatModel(StreamingChatModel model, LlmLimiter limiter, Target target) {
        return builder(limiter).target(target).build(model);
    }

    /**
     * @param limiter the limiter
     * @return a builder, for a target per call or another estimate
     */
    public static Builder builder(LlmLimiter limiter) {
        return new Builder(limiter);
    }

    /**
     * The call a limited model is about to make, as a target function sees it.
     *
     * @param request the request, the model's defaults not applied
     * @param attributes the call's listener attributes (empty when none were given)
     */
    public record Call(ChatRequest request, Map<Object, Object> attributes) {

        /** @return the tenant named under {@link #TENANT}, or null */
        public String tenant() {
            Object t = attributes.get(TENANT);
            return t == null ? null : t.toString();
        }

        /** @return the priority given under {@link #PRIORITY}, or null */
        public Integer priority() {
            Object p = attributes.get(PRIORITY);
            if (p instanceof Number n) {
                return n.intValue();
            }
            return p == null ? null : Integer.valueOf(p.toString().trim());
        }
    }

    /** Builds limited models. Not thread-safe; the models it builds are. */
    public static final class Builder {

        private final LlmLimiter limiter;
        private BiFunction<Call, String, Target> targets;
        private int fallbackMaxOutputTokens = DEFAULT_MAX_OUTPUT_TOKENS;
        private java.util.function.Function<ChatRequest, Estimate> estimator;

        private Builder(LlmLimiter limiter) {
            this.limiter = Objects.requireNonNull(limiter, "limiter must not be null");
        }

        /**
         * @param target the budget of every call
         * @return this builder
         */
        public Builder target(Target target) {
            Objects.requireNonNull(target, "target must not be null");
            this.targets = (call, model) -> target;
            return this;
        }

        /**
         * @param targets the budget of a call, from the call and the model name it will use (the
         *     request's, else the model's default; may be null)
         * @return this builder
         */
        public Builder targets(BiFunction<Call, String, Target> targets) {
            this.targets = Objects.requireNonNull(targets, "targets must not be null");
            return this;
        }

        /**
         * @param tokens output tokens reserved when neither the request nor the model names
         *     {@code maxOutputTokens}; {@value #DEFAULT_MAX_OUTPUT_TOKENS} by default
         * @return this builder
         */
        public Builder fallbackMaxOutputTokens(int tokens) {
            if (tokens < 0) {
                throw new IllegalArgumentException("fallbackMaxOutputTokens must be >= 0, got " + tokens);
            }
            this.fallbackMaxOutputTokens = tokens;
            return this;
        }

        /**
         * @param estimator what a request is expected to use, replacing {@link ChatEstimates}
         *     (which sees the model's defaults too)
         * @return this builder
         */
        public Builder estimator(java.util.function.Function<ChatRequest, Estimate> estimator) {
            this.estimator = Objects.requireNonNull(estimator, "estimator must not be null");
            return this;
        }

        /**
         * @param model the model, built with {@code maxRetries(0)}
         * @return the limited model
         */
        public ChatModel build(ChatModel model) {
            return new LimitedChatModel(model, limiter, settings());
        }

        /**
         * @param model the streaming model
         * @return the limited model
         */
        public StreamingChatModel build(StreamingChatModel model) {
            return new LimitedStreamingChatModel(model, limiter, settings());
        }

        private Settings settings() {
            if (targets == null) {
                throw new IllegalStateException("a target (or a target function) is required");
            }
            return new Settings(targets, fallbackMaxOutputTokens, estimator);
        }
    }

    /** What a limited model needs besides its delegate and limiter. */
    record Settings(BiFunction<Call, String, Target> targets, int fallbackMaxOutputTokens,
                    java.util.function.Function<ChatRequest, Estimate> estimator) {

        Target target(ChatRequest request, ChatRequestOptions options, String model) {
            Map<Object, Object> attributes = options == null || options.listenerAttributes() == null
                    ? Map.of() : options.listenerAttributes();
            return Objects.requireNonNull(targets.apply(new Call(request, attributes), model),
                    "the target function returned null");
        }

        Estimate estimate(ChatRequest request, dev.langchain4j.model.chat.request.ChatRequestParameters defaults) {
            return estimator != null ? estimator.apply(request)
                    : ChatEstimates.of(request, defaults, fallbackMaxOutputTokens);
        }
    }
}
