package io.llmlimiter.client;

import io.llmlimiter.client.retry.FailureKind;
import java.util.OptionalInt;

/**
 * A call run by {@code execute} failed for good: the error is never retried (a bad request, an
 * exhausted quota), or the retries or the deadline ran out. The cause is the call's last
 * exception; the message carries the provider's own message. This class is immutable and
 * thread-safe.
 */
public final class CallFailedException extends LimiterException {

    private final FailureKind kind;
    private final int status;
    private final int attempts;

    /**
     * @param target the target
     * @param kind how the last failure was classified
     * @param status the last HTTP status, or -1
     * @param attempts attempts made
     * @param message what happened, with the provider's message
     * @param cause the last exception
     */
    public CallFailedException(Target target, FailureKind kind, int status, int attempts, String message,
                               Throwable cause) {
        super(target, message, cause, false);
        this.kind = kind;
        this.status = status;
        this.attempts = attempts;
    }

    /** @return how the last failure was classified */
    public FailureKind kind() {
        return kind;
    }

    /** @return the last HTTP status, if the failure had one */
    public OptionalInt status() {
        return status < 0 ? OptionalInt.empty() : OptionalInt.of(status);
    }

    /** @return attempts made, the first included */
    public int attempts() {
        return attempts;
    }
}
