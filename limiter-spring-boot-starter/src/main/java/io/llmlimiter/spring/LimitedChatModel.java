package io.llmlimiter.spring;

import io.llmlimiter.client.CallFailedException;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.StreamCompletion;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.client.TokenEstimator;
import io.llmlimiter.client.Usage;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A Spring AI {@link ChatModel} whose every call is one {@link LlmLimiter#execute}: one model round
 * trip, one admission (Spring AI 2 runs tool loops in the {@code ChatClient}'s tool-calling advisor,
 * which calls the model once per round trip). The estimate is the prompt's messages counted with
 * jtokkit plus the max tokens of the prompt's options (else the model's defaults); the usage is
 * the response's ({@code stream}: the last usage the stream reports, e.g. OpenAI's
 * {@code stream_options.include_usage} chunk). The model's exceptions carry the HTTP status and
 * headers (the OpenAI SDK's), which the limiter's classification reads; when a call fails for good
 * the model's own last exception is thrown with the limiter's {@link CallFailedException} attached
 * as suppressed. Thread-safe when its delegate is.
 */
public final class LimitedChatModel implements ChatModel {

    private final ChatModel delegate;
    private final Supplier<LlmLimiter> limiter;
    private final ChatTargetResolver targets;
    private final String tenant;
    private final Tenant callsFor;
    private final int defaultMaxTokens;

    /**
     * A model whose calls are {@link Priority#INTERACTIVE}.
     *
     * @param delegate the model
     * @param limiter the limiter, looked up at the first call
     * @param targets names each call's target
     * @param tenant the application's tenant, or null
     * @param defaultMaxTokens output tokens reserved when neither the prompt nor the model names max tokens
     */
    public LimitedChatModel(ChatModel delegate, Supplier<LlmLimiter> limiter, ChatTargetResolver targets,
                            String tenant, int defaultMaxTokens) {
        this(delegate, limiter, targets, tenant, Priority.INTERACTIVE, defaultMaxTokens);
    }

    /**
     * @param delegate the model
     * @param limiter the limiter, looked up at the first call
     * @param targets names each call's target
     * @param tenant the application's tenant, or null: every call is acquired for it (on a target
     *     that shares fairly, its share applies), else for the {@code default} tenant
     * @param priority the class of every call
     * @param defaultMaxTokens output tokens reserved when neither the prompt nor the model names max tokens
     * @throws IllegalArgumentException when the tenant is not a valid tenant name
     */
    public LimitedChatModel(ChatModel delegate, Supplier<LlmLimiter> limiter, ChatTargetResolver targets,
                            String tenant, Priority priority, int defaultMaxTokens) {
        this.delegate = Objects.requireNonNull(delegate, "delegate must not be null");
        this.limiter = Objects.requireNonNull(limiter, "limiter must not be null");
        this.targets = Objects.requireNonNull(targets, "targets must not be null");
        Objects.requireNonNull(priority, "priority must not be null");
        this.tenant = tenant;
        this.callsFor = new Tenant(tenant == null ? Tenant.DEFAULT_NAME : tenant, priority);
        this.defaultMaxTokens = defaultMaxTokens;
    }

    /** @return the model calls go to */
    public ChatModel delegate() {
        return delegate;
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        String model = modelName(prompt);
        Target target = targets.resolve(delegate, prompt, model, tenant);
        try {
            return limiter.get().execute(target, callsFor, estimate(prompt, model), ctx -> {
                ChatResponse response = delegate.call(prompt);
                Usage usage = usage(response);
                if (usage != null) {
                    ctx.usage(usage);
                }
                return response;
            });
        } catch (RuntimeException e) {
            throw unwrap(e);
        }
    }

    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.defer(() -> {
            String model = modelName(prompt);
            Target target = targets.resolve(delegate, prompt, model, tenant);
            Estimate estimate = estimate(prompt, model);
            return Mono.fromFuture(() -> limiter.get().<Flux<ChatResponse>>executeAsync(target, callsFor, estimate,
                            ctx -> start(prompt, ctx.deferCompletion())))
                    .flatMapMany(f -> f);
        }).onErrorMap(LimitedChatModel::unwrap);
    }

    /**
     * Starts one attempt's stream: the attempt succeeds at the stream's first response (a failure
     * before it is classified and retried), the stream's end completes the permit.
     */
    private CompletableFuture<Flux<ChatResponse>> start(Prompt prompt, StreamCompletion completion) {
        CompletableFuture<Flux<ChatResponse>> started = new CompletableFuture<>();
        Sinks.Many<ChatResponse> sink = Sinks.many().unicast().onBackpressureBuffer();
        AtomicReference<Disposable> upstream = new AtomicReference<>();
        AtomicReference<Usage> last = new AtomicReference<>();
        Flux<ChatResponse> downstream = sink.asFlux().doOnCancel(() -> {
            Disposable d = upstream.get();
            if (d != null) {
                d.dispose();
            }
            completion.fail(new CancellationException("the stream's subscriber cancelled it"));
        });
        upstream.set(delegate.stream(prompt).subscribe(
                response -> {
                    Usage u = usage(response);
                    if (u != null) {
                        last.set(u);
                    }
                    sink.tryEmitNext(response);
                    started.complete(downstream);
                },
                error -> {
                    if (!started.completeExceptionally(error)) {
                        completion.fail(error);
                        sink.tryEmitError(error);
                    }
                },
                () -> {
                    completion.complete(last.get());
                    sink.tryEmitComplete();
                    started.complete(downstream);
                }));
        return started;
    }

    @Override
    public ChatOptions getDefaultOptions() {
        return delegate.getDefaultOptions();
    }

    @Override
    public ChatOptions getOptions() {
        return delegate.getOptions();
    }

    @Override
    public String toString() {
        return "LlmLimited[" + delegate + "]";
    }

    private String modelName(Prompt prompt) {
        String model = prompt.getOptions() != null ? prompt.getOptions().getModel() : null;
        if (model == null && delegate.getDefaultOptions() != null) {
            model = delegate.getDefaultOptions().getModel();
        }
        return model;
    }

    private Estimate estimate(Prompt prompt, String model) {
        TokenEstimator tokens = TokenEstimator.forModel(model == null ? "" : model);
        List<Map.Entry<String, String>> messages = new ArrayList<>();
        for (Message m : prompt.getInstructions()) {
            messages.add(Map.entry(m.getMessageType().name().toLowerCase(Locale.ROOT), text(m)));
        }
        Integer max = prompt.getOptions() != null ? prompt.getOptions().getMaxTokens() : null;
        if (max == null && delegate.getDefaultOptions() != null) {
            max = delegate.getDefaultOptions().getMaxTokens();
        }
        return Estimate.of(tokens.countChat(messages), max != null ? max : defaultMaxTokens);
    }

    private static String text(Message m) {
        StringBuilder b = new StringBuilder(m.getText() == null ? "" : m.getText());
        if (m instanceof AssistantMessage a && a.getToolCalls() != null) {
            for (AssistantMessage.ToolCall call : a.getToolCalls()) {
                b.append(' ').append(call.name()).append(' ').append(call.arguments());
            }
        }
        if (m instanceof ToolResponseMessage t && t.getResponses() != null) {
            for (ToolResponseMessage.ToolResponse r : t.getResponses()) {
                b.append(' ').append(r.responseData());
            }
        }
        return b.toString();
    }

    /**
     * @param response a response (or a streamed piece of one)
     * @return the usage it reports, or null when it reports none
     */
    static Usage usage(ChatResponse response) {
        if (response == null || response.getMetadata() == null || response.getMetadata().getUsage() == null) {
            return null;
        }
        org.springframework.ai.chat.metadata.Usage u = response.getMetadata().getUsage();
        long in = u.getPromptTokens() == null ? 0 : u.getPromptTokens();
        long out = u.getCompletionTokens() == null ? 0 : u.getCompletionTokens();
        return in == 0 && out == 0 ? null : Usage.of(in, out);
    }

    /**
     * @param failure what the limiter threw
     * @return the model's own last exception (the limiter's attached as suppressed), else the limiter's
     */
    static RuntimeException unwrap(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof CallFailedException cf && cf.getCause() instanceof RuntimeException model) {
            model.addSuppressed(cf);
            return model;
        }
        return t instanceof RuntimeException r ? r : new CompletionException(t);
    }
}
