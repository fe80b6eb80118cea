package io.llmlimiter.server.mock;

/**
 * The outcome of one admission attempt. This record is immutable and thread-safe.
 *
 * @param rejection why the request was turned away, or {@code null} when it was admitted
 * @param charge the tokens the request was (or would have been) charged
 * @param retryAfterNanos nanoseconds until the request would fit, or -1 if unknown or never
 * @param requests the request window after the decision, or {@code null} when requests are unlimited
 * @param tokens the token window after the decision, or {@code null} when tokens are unlimited
 * @param inFlight requests being served after the decision
 * @param maxConcurrency the concurrency cap in force, 0 for unlimited
 */
record Decision(Rejection rejection, long charge, long retryAfterNanos, WindowState requests,
                       WindowState tokens, int inFlight, int maxConcurrency) {

    /** Why a request was turned away. */
    enum Rejection {
        /** The request window is full. */
        REQUESTS,
        /** The token window cannot take the request's charge yet. */
        TOKENS,
        /** The request's charge exceeds the token limit itself, so no wait helps. */
        TOO_LARGE,
        /** As many requests as allowed are being served. */
        CONCURRENCY
    }

    /**
     * @return whether the request was admitted
     */
    boolean admitted() {
        return rejection == null;
    }
}
