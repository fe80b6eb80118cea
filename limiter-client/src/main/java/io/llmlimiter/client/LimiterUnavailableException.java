package io.llmlimiter.client;

/**
 * Redis could not be reached or did not answer in time; the limiter fails closed rather than
 * admit calls it cannot count. This class is immutable and thread-safe.
 */
public final class LimiterUnavailableException extends LimiterException {

    /**
     * @param target the target, may be null
     * @param message what failed
     * @param cause the Redis error
     */
    public LimiterUnavailableException(Target target, String message, Throwable cause) {
        super(target, message, cause, true);
    }
}
