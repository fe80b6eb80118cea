package io.llmlimiter.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.ChatRequestOptions;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/** A {@link ChatModel} whose every call is one {@link LlmLimiter#execute}. Thread-safe when its delegate is. */
final class LimitedChatModel implements ChatModel {

    private final ChatModel delegate;
    private final LlmLimiter limiter;
    private final LlmLimited.Settings settings;

    LimitedChatModel(ChatModel delegate, LlmLimiter limiter, LlmLimited.Settings settings) {
        this.delegate = Objects.requireNonNull(delegate, "model must not be null");
        this.limiter = limiter;
        this.settings = settings;
    }

    @Override
    public ChatResponse chat(ChatRequest request) {
        return chat(request, ChatRequestOptions.EMPTY);
    }

    @Override
    public ChatResponse chat(ChatRequest request, ChatRequestOptions options) {
        ChatRequestParameters defaults = delegate.defaultRequestParameters();
        Target target = settings.target(request, options, ChatEstimates.modelName(request, defaults));
        try {
            return limiter.execute(target, settings.estimate(request, defaults), ctx -> {
                ChatResponse response = delegate.chat(request, options);
                Responses.report(ctx, response);
                return response;
            });
        } catch (RuntimeException e) {
            throw Responses.unwrap(e);
        }
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        return chat(request, ChatRequestOptions.EMPTY);
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return delegate.defaultRequestParameters();
    }

    @Override
    public List<ChatModelListener> listeners() {
        return delegate.listeners();
    }

    @Override
    public ModelProvider provider() {
        return delegate.provider();
    }

    @Override
    public Set<Capability> supportedCapabilities() {
        return delegate.supportedCapabilities();
    }

    @Override
    public String toString() {
        return "LlmLimited[" + delegate + "]";
    }
}
