package io.llmlimiter.langchain4j;

import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.TokenUsage;
import io.llmlimiter.client.CallContext;
import io.llmlimiter.client.CallFailedException;
import io.llmlimiter.client.Usage;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** What a LangChain4j response tells the limiter. Stateless and thread-safe. */
final class Responses {

    private Responses() {
    }

    /**
     * @param response the model's response
     * @return its token usage, or null when the provider reported none
     */
    static Usage usage(ChatResponse response) {
        TokenUsage u = response == null ? null : response.tokenUsage();
        if (u == null || (u.inputTokenCount() == null && u.outputTokenCount() == null)) {
            return null;
        }
        return Usage.of(orZero(u.inputTokenCount()), orZero(u.outputTokenCount()));
    }

    /**
     * Reports a response's usage and, where the provider module keeps the raw HTTP response in the
     * metadata (OpenAI, Anthropic: {@code rawHttpResponse()}), its headers.
     *
     * @param ctx the attempt
     * @param response the model's response
     */
    static void report(CallContext ctx, ChatResponse response) {
        Map<String, ? extends Collection<String>> headers = headers(response);
        if (headers != null) {
            ctx.headers(headers);
        }
        Usage usage = usage(response);
        if (usage != null) {
            ctx.usage(usage);
        }
    }

    /**
     * @param response the model's response
     * @return the raw HTTP response's headers, or null when the provider module keeps none
     */
    @SuppressWarnings("unchecked")
    static Map<String, ? extends Collection<String>> headers(ChatResponse response) {
        if (response == null || response.metadata() == null) {
            return null;
        }
        try {
            Object raw = response.metadata().getClass().getMethod("rawHttpResponse").invoke(response.metadata());
            if (raw == null) {
                return null;
            }
            Object headers = raw.getClass().getMethod("headers").invoke(raw);
            return headers instanceof Map<?, ?> ? (Map<String, ? extends Collection<String>>) headers : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The exception a LangChain4j caller expects: the model's own last exception (with the
     * limiter's account of the attempts attached as suppressed), or the limiter's when the call
     * never ran or the failure was not the model's.
     *
     * @param failure what {@code execute} threw
     * @return the exception to throw
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
        if (t instanceof RuntimeException r) {
            return r;
        }
        return new CompletionException(t);
    }

    private static long orZero(Integer n) {
        return n == null ? 0 : n;
    }
}
