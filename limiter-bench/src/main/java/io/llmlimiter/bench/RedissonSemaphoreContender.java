package io.llmlimiter.bench;

import org.redisson.api.RPermitExpirableSemaphore;
import org.redisson.api.RedissonClient;

/**
 * Redisson's {@link RPermitExpirableSemaphore}, the closest Redisson primitive to a lease: one
 * operation is {@code acquire()} then {@code release(id)}, two round trips like llm-limiter's
 * acquire and complete. The semaphore has far more permits than threads. Thread-safe.
 */
public final class RedissonSemaphoreContender implements Contender {

    private final RedissonClient redisson;

    /**
     * @param endpoint the Redis under test
     */
    public RedissonSemaphoreContender(RedisEndpoint endpoint) {
        this.redisson = Redissons.connect(endpoint);
    }

    @Override
    public String key() {
        return "redisson_semaphore";
    }

    @Override
    public String label() {
        return "Redisson RPermitExpirableSemaphore acquire+release";
    }

    @Override
    public Op unlimited(String namespace) {
        RPermitExpirableSemaphore semaphore = redisson.getPermitExpirableSemaphore("bench:" + namespace + ":sem");
        semaphore.trySetPermits(1_000_000);
        return thread -> semaphore.release(semaphore.acquire());
    }

    @Override
    public String keyPattern(String namespace) {
        return "*bench:" + namespace + ":sem*";
    }

    @Override
    public void close() {
        redisson.shutdown();
    }
}
