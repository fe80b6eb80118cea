package io.llmlimiter.client;

/**
 * One call to a provider, run by {@link LlmLimiter#execute} while a permit is held. Throw to
 * fail the attempt: the exception is classified and the call retried per the target's policy.
 *
 * @param <T> the call's result
 */
@FunctionalInterface
public interface LlmCall<T> {

    /**
     * @param context the attempt: report usage and response headers through it
     * @return the result
     * @throws Exception any failure of the call
     */
    T call(CallContext context) throws Exception;
}
