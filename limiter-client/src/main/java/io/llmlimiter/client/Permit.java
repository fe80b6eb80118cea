package io.llmlimiter.client;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * The right to make one call to a target, held as a lease in Redis. The lease is renewed in the
 * background while the call runs; if the process dies, it expires at its time-to-live.
 *
 * <p>Finish with {@link #complete(Usage)} to account what the call used, or {@link #close()} to
 * release it keeping the admission charge. Use it in try-with-resources. Implementations are
 * thread-safe; completing twice is a no-op.
 */
public interface Permit extends AutoCloseable {

    /** @return the target the permit is for */
    Target target();

    /** @return the lease id, which is also the request id */
    String leaseId();

    /** @return when Redis admitted the request (Redis server time) */
    Instant admittedAt();

    /** @return what the request was charged at admission */
    Estimate estimate();

    /**
     * Releases the lease and records what the call used, correcting the windows per the target's
     * accounting. The usage is recorded also when the lease expired before (the call outlived its
     * lease TTL while renewals could not reach Redis).
     *
     * @param usage the usage the provider reported
     * @throws LimiterUnavailableException when Redis cannot be reached
     */
    void complete(Usage usage);

    /**
     * Asynchronous {@link #complete(Usage)}.
     *
     * @param usage the usage the provider reported, or null to keep the admission charge
     * @return completes when Redis has recorded it; a send that fails is retried in the background
     *     for several seconds, then the future fails (and the failure is logged and metered)
     */
    CompletableFuture<Void> completeAsync(Usage usage);

    /** Releases the lease keeping the admission charge, unless it was completed already. */
    @Override
    void close();
}
