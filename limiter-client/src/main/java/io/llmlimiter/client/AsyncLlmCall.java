package io.llmlimiter.client;

import java.util.concurrent.CompletionStage;

/**
 * One asynchronous call to a provider, run by {@link LlmLimiter#executeAsync} while a permit is
 * held. Complete the stage exceptionally to fail the attempt. It is called on the limiter's
 * {@linkplain LlmLimiter.Builder#executor executor}, once per attempt, one attempt after another;
 * anything it throws ({@link Error}s included) fails the attempt and releases the permit at once.
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
