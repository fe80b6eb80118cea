package io.llmlimiter.client;

/**
 * Base of the limiter's exceptions. Carries the target; stack traces are left out where the
 * exception is an expected outcome rather than a fault. This class is immutable and thread-safe.
 */
public class LimiterException extends RuntimeException {

    private final Target target;

    /**
     * @param target the target, may be null
     * @param message the message
     * @param cause the cause, may be null
     * @param stackTrace whether to fill in the stack trace
     */
    protected LimiterException(Target target, String message, Throwable cause, boolean stackTrace) {
        super(message, cause, false, stackTrace);
        this.target = target;
    }

    /** @return the target the failure is about, or null */
    public Target target() {
        return target;
    }
}
