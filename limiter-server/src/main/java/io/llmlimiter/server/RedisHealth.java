package io.llmlimiter.server;

import io.llmlimiter.client.LimiterAdmin;
import java.time.Duration;

/**
 * Whether Redis answers, and how fast: one read of the default config, timed. Going through the
 * limiter's own connection, it checks what clients use (standalone, TLS, whatever the URI says).
 * Immutable and thread-safe.
 *
 * @param reachable whether Redis answered
 * @param latency how long the round trip took (zero when unreachable)
 */
public record RedisHealth(boolean reachable, Duration latency) {

    /**
     * @param admin the limiter's admin
     * @return the result of one round trip
     */
    public static RedisHealth check(LimiterAdmin admin) {
        long start = System.nanoTime();
        try {
            admin.defaultConfig();
            return new RedisHealth(true, Duration.ofNanos(System.nanoTime() - start));
        } catch (RuntimeException e) {
            return new RedisHealth(false, Duration.ZERO);
        }
    }
}
