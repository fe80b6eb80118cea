package io.llmlimiter.client.retry;

/**
 * Coarse category of a failed LLM call, used to decide whether and how long to back off.
 *
 * <p>Enum constants are immutable and therefore thread-safe.
 */
public enum FailureKind {

    /** The provider throttled the caller (HTTP 429, or 403 that says "rate limit"). */
    RATE_LIMITED(true),

    /** The provider is overloaded (HTTP 529, Anthropic's "overloaded_error"). */
    OVERLOADED(true),

    /** Transient server-side failure (HTTP 500, 502, 503, 504 and other 5xx). */
    SERVER_ERROR(true),

    /** The request or the read timed out (HTTP 408, client-side timeouts). */
    TIMEOUT(true),

    /** Concurrent-modification style conflict (HTTP 409) that the provider asks callers to retry. */
    CONFLICT(true),

    /** The connection could not be established or was dropped before a response arrived. */
    CONNECTION(true),

    /** The account is out of quota or credit; waiting will not help, so it is never retried. */
    QUOTA_EXHAUSTED(false),

    /** The request itself is wrong (400, 401, 404, 422 and other 4xx); never retried. */
    CLIENT_ERROR(false),

    /** Not recognisably an HTTP or network failure; not retried by default. */
    UNKNOWN(false);

    private final boolean retryable;

    FailureKind(boolean retryable) {
        this.retryable = retryable;
    }

    /**
     * Whether a failure of this kind may succeed when the same request is sent again later.
     *
     * @return {@code true} for transient kinds, {@code false} for kinds that a retry cannot fix
     */
    public boolean retryable() {
        return retryable;
    }
}
