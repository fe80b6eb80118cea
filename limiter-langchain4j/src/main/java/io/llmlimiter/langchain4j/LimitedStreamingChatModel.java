package io.llmlimiter.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatRequestOptions;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.PartialThinkingContext;
import dev.langchain4j.model.chat.response.PartialToolCall;
import dev.langchain4j.model.chat.response.PartialToolCallContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import io.llmlimiter.client.CallContext;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.StreamCompletion;
import io.llmlimiter.client.Target;

import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link StreamingChatModel} whose every call is one {@link LlmLimiter#executeAsync}. An attempt
 * succeeds once the stream has started (its first event): a failure before that (a 429, a 400,
 * a refused connection) is classified and retried like any other; after it, the stream belongs to
 * the caller and its end completes the permit with the final response's usage
 * ({@link CallContext#deferCompletion()}). Thread-safe when its delegate is.
 */
final class LimitedStreamingChatModel implements StreamingChatModel {

    private final StreamingChatModel delegate;
    private final LlmLimiter limiter;
    private final LlmLimited.Settings settings;

    LimitedStreamingChatModel(StreamingChatModel delegate, LlmLimiter limiter, LlmLimited.Settings settings) {
        this.delegate = Objects.requireNonNull(delegate, "model must not be null");
        this.limiter = limiter;
        this.settings = settings;
    }

    @Override
    public void chat(ChatRequest request, StreamingChatResponseHandler handler) {
        chat(request, ChatRequestOptions.EMPTY, handler);
    }

    @Override
    public void chat(ChatRequest request, ChatRequestOptions options, StreamingChatResponseHandler handler) {
        Objects.requireNonNull(handler, "handler must not be null");
        ChatRequestParameters defaults = delegate.defaultRequestParameters();
        Target target;
        CompletableFuture<Void> done;
        try {
            target = settings.target(request, options, ChatEstimates.modelName(request, defaults));
            done = limiter.executeAsync(target, settings.estimate(request, defaults), ctx -> {
                Attempt attempt = new Attempt(handler, ctx.deferCompletion());
                delegate.chat(request, options, attempt);
                return attempt.started;
            });
        } catch (RuntimeException e) {
            handler.onError(Responses.unwrap(e));
            return;
        }
        done.whenComplete((ignored, failure) -> {
            if (failure != null) {
                handler.onError(Responses.unwrap(failure));
            }
        });
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        chat(request, ChatRequestOptions.EMPTY, handler);
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

    /**
     * One attempt's handler: until the first event, a failure fails the attempt (and the caller
     * hears nothing of it); from the first event on, events go to the caller and the stream's end
     * completes the permit.
     */
    private static final class Attempt implements StreamingChatResponseHandler {

        final CompletableFuture<Void> started = new CompletableFuture<>();
        private final StreamingChatResponseHandler caller;
        private final StreamCompletion completion;

        Attempt(StreamingChatResponseHandler caller, StreamCompletion completion) {
            this.caller = caller;
            this.completion = completion;
        }

        private void start() {
            started.complete(null);
        }

        @Override
        public void onPartialResponse(String partialResponse) {
            start();
            caller.onPartialResponse(partialResponse);
        }

        @Override
        public void onPartialResponse(PartialResponse partialResponse, PartialResponseContext context) {
            start();
            caller.onPartialResponse(partialResponse, context);
        }

        @Override
        public void onPartialThinking(PartialThinking partialThinking) {
            start();
            caller.onPartialThinking(partialThinking);
        }

        @Override
        public void onPartialThinking(PartialThinking partialThinking, PartialThinkingContext context) {
            start();
            caller.onPartialThinking(partialThinking, context);
        }

        @Override
        public void onPartialToolCall(PartialToolCall partialToolCall) {
            start();
            caller.onPartialToolCall(partialToolCall);
        }

        @Override
        public void onPartialToolCall(PartialToolCall partialToolCall, PartialToolCallContext context) {
            start();
            caller.onPartialToolCall(partialToolCall, context);
        }

        @Override
        public void onCompleteToolCall(CompleteToolCall completeToolCall) {
            start();
            caller.onCompleteToolCall(completeToolCall);
        }

        @Override
        public void onUnmappedRawEvent(Object event) {
            caller.onUnmappedRawEvent(event);
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            start();
            completion.complete(Responses.usage(response));
            caller.onCompleteResponse(response);
        }

        @Override
        public void onError(Throwable error) {
            if (started.completeExceptionally(error)) {
                return;
            }
            completion.fail(error);
            caller.onError(error);
        }
    }
}
