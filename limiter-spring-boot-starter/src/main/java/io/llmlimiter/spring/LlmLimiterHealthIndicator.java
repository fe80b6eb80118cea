package io.llmlimiter.spring;

import io.llmlimiter.client.LlmLimiter;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Up when the limiter's Redis answers a read (the default config), down with the reason when it
 * does not: nothing is admitted without Redis. Thread-safe.
 */
public class LlmLimiterHealthIndicator extends AbstractHealthIndicator {

    private final LlmLimiter limiter;

    /**
     * @param limiter the limiter whose Redis to check
     */
    public LlmLimiterHealthIndicator(LlmLimiter limiter) {
        super("Redis of the LLM limiter is not reachable");
        this.limiter = limiter;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        boolean hasDefault = limiter.admin().defaultConfig().isPresent();
        builder.up().withDetail("redis", "reachable").withDetail("defaultConfig", hasDefault);
    }
}
