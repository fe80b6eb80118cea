package io.llmlimiter.bench;

import java.util.Map;

/**
 * One system under test, connected to the Redis under test. It sets up a fresh key space for a
 * phase and hands out the operation the load threads repeat. Implementations are thread-safe:
 * all load threads call the same {@link Op}.
 */
public interface Contender extends AutoCloseable {

    /**
     * One measured operation; for a limiter, one admitted call.
     */
    @FunctionalInterface
    interface Op {
        /**
         * @param thread the index of the calling load thread, 0 to threads - 1
         * @throws Exception when the operation failed; the phase counts it as an error
         */
        void call(int thread) throws Exception;
    }

    /** @return the key under which its results appear in the JSON, e.g. {@code limiter} */
    String key();

    /** @return what is measured, for the report, e.g. {@code Redisson RRateLimiter.tryAcquire} */
    String label();

    /** @return what the overload phase measures, e.g. {@code Redisson RRateLimiter.acquire()} */
    default String blockingLabel() {
        return label();
    }

    /**
     * Sets up a budget that never refuses under a key space of its own.
     *
     * @param namespace a name no other phase uses
     * @return the operation: one call admitted by the system
     */
    Op unlimited(String namespace);

    /**
     * Sets up a budget far below demand, waited for with the system's own blocking wait.
     *
     * @param namespace a name no other phase uses
     * @param perSecond the budget, calls per second
     * @return the operation: one blocking wait until admitted (then the call's release, if any)
     * @throws UnsupportedOperationException when the system has no rate limit (the floors)
     */
    default Op overloaded(String namespace, int perSecond) {
        throw new UnsupportedOperationException(label() + " has no blocking rate limit");
    }

    /**
     * @param namespace a namespace given to {@link #overloaded}
     * @return the system's own counters of that budget (llm-limiter: admitted, refused by reason,
     *     completed), or none
     */
    default Map<String, Long> counters(String namespace) {
        return Map.of();
    }

    /**
     * @param namespace a namespace given to {@link #unlimited} or {@link #overloaded}
     * @return a {@code SCAN MATCH} pattern covering every key the system wrote for it
     */
    String keyPattern(String namespace);

    /** Disconnects. */
    @Override
    void close();
}
