package io.llmlimiter.client;

import java.time.Duration;

/**
 * The target's budget did not admit the request within the time the caller allowed. Carries
 * which limit refused and when the request could have succeeded. Cheap: no stack trace.
 * This class is immutable and thread-safe.
 */
public final class RateLimitedException extends LimiterException {

    private final String reason;
    private final String limit;
    private final Duration retryAfter;

    /**
     * @param target the target
     * @param reason why: {@code window}, {@code concurrency}, {@code cooldown}, {@code queued} or {@code provider}
     * @param limit the refusing limit (e.g. {@code requests=500/60s}), or empty
     * @param retryAfter how long until the request could succeed, as far as is known now
     */
    public RateLimitedException(Target target, String reason, String limit, Duration retryAfter) {
        super(target, target + " refused by " + (limit.isEmpty() ? reason : limit) + ", could succeed in "
                + retryAfter.toMillis() + " ms", null, false);
        this.reason = reason;
        this.limit = limit;
        this.retryAfter = retryAfter;
    }

    /** @return {@code window}, {@code concurrency}, {@code cooldown}, {@code queued} or {@code provider} */
    public String reason() {
        return reason;
    }

    /** @return the refusing limit in compact form, or empty when the reason is not a window */
    public String limit() {
        return limit;
    }

    /** @return how long until the request could succeed */
    public Duration retryAfter() {
        return retryAfter;
    }
}
