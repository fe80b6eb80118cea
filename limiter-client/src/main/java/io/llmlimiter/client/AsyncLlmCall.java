package io.llmlimiter.client;

import java.util.concurrent.CompletionStage;

/**
 * One asynchronous call to a provider, run by {@link LlmLimiter#executeAsync} while a permit is
 * held. Complete the stage exceptionally to fail the attempt.
 *
 * @param <T> the call's result
 */
@FunctionalInterface
public interface AsyncLlmCall<T> {

    /**
     * @param context the attempt: report usage and response headers through it
     * @return the result
     */
    CompletionStage<T> call(CallContext context);
}
