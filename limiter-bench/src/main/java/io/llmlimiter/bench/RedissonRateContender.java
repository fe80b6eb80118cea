package io.llmlimiter.bench;

import java.time.Duration;
import org.redisson.api.RRateLimiter;
import org.redisson.api.RateType;
import org.redisson.api.RedissonClient;

/**
 * Redisson's {@link RRateLimiter} (one {@code OVERALL} rate shared by all clients): non-blocking
 * {@code tryAcquire()} on an unlimited budget, blocking {@code acquire()} under overload.
 * Redisson uses its own connection pool (defaults, see {@link Redissons#defaults()}). Thread-safe.
 */
public final class RedissonRateContender implements Contender {

    private final RedissonClient redisson;

    /**
     * @param endpoint the Redis under test
     */
    public RedissonRateContender(RedisEndpoint endpoint) {
        this.redisson = Redissons.connect(endpoint);
    }

    /**
     * @param namespace a phase namespace
     * @return the limiter's name
     */
    static String name(String namespace) {
        return "bench:" + namespace + ":rrl";
    }

    /**
     * @param namespace a phase namespace
     * @param rate permits per interval
     * @param interval the interval
     * @return the rate limiter, its rate set
     */
    RRateLimiter limiter(String namespace, long rate, Duration interval) {
        RRateLimiter limiter = redisson.getRateLimiter(name(namespace));
        limiter.trySetRate(RateType.OVERALL, rate, interval);
        return limiter;
    }

    @Override
    public String key() {
        return "redisson";
    }

    @Override
    public String label() {
        return "Redisson RRateLimiter.tryAcquire";
    }

    @Override
    public String blockingLabel() {
        return "Redisson RRateLimiter.acquire()";
    }

    @Override
    public Op unlimited(String namespace) {
        RRateLimiter limiter = limiter(namespace, 100_000_000, Duration.ofSeconds(60));
        return thread -> {
            if (!limiter.tryAcquire()) {
                throw new IllegalStateException("RRateLimiter refused");
            }
        };
    }

    @Override
    public Op overloaded(String namespace, int perSecond) {
        RRateLimiter limiter = limiter(namespace, perSecond, Duration.ofSeconds(1));
        return thread -> limiter.acquire();
    }

    @Override
    public String keyPattern(String namespace) {
        return "*" + name(namespace) + "*";
    }

    @Override
    public void close() {
        redisson.shutdown();
    }
}
