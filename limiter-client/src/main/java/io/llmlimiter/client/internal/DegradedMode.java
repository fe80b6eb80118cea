package io.llmlimiter.client.internal;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterUnavailableException;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.RateLimitedException;
import io.llmlimiter.client.Target;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opt-in fallback while Redis is unreachable: acquires go to an in-process limiter at a share of
 * each limit, Redis is tried again at most once a second, and the first success there ends the
 * fallback. Entering and leaving are logged and metered; a client never silently multiplies the
 * budget. This class is thread-safe.
 */
final class DegradedMode {

    private static final Logger log = LoggerFactory.getLogger(DegradedMode.class);
    private static final long PROBE_NANOS = 1_000_000_000L;

    private final double share;
    private final LocalLimiter local;
    private final AtomicBoolean degraded = new AtomicBoolean();
    private final AtomicLong lastRedisTry = new AtomicLong(System.nanoTime() - PROBE_NANOS);
    private final Counter fallbackAdmits;

    DegradedMode(double share, MeterRegistry registry) {
        this.share = share;
        this.local = new LocalLimiter(share);
        Gauge.builder(LimiterMetrics.PREFIX + "degraded", degraded, d -> d.get() ? 1 : 0)
                .description("1 while Redis is unreachable and the in-process fallback admits calls").register(registry);
        this.fallbackAdmits = Counter.builder(LimiterMetrics.PREFIX + "degraded.admitted")
                .description("Calls admitted by the in-process fallback").register(registry);
    }

    /** @return whether to skip Redis for now: degraded, and Redis was tried less than a second ago */
    boolean skipRedis() {
        return degraded.get() && System.nanoTime() - lastRedisTry.get() < PROBE_NANOS;
    }

    void redisTried() {
        lastRedisTry.set(System.nanoTime());
    }

    void redisAnswered() {
        if (degraded.compareAndSet(true, false)) {
            log.warn("Redis is reachable again; every target uses the shared budget again");
        }
    }

    Permit acquire(Target target, LimitConfig lastKnown, Estimate estimate, Duration maxWait,
                   LimiterUnavailableException cause) {
        if (degraded.compareAndSet(false, true)) {
            log.warn("Redis is unreachable ({}); falling back to an in-process limiter at {}% of each limit until "
                    + "it is back", cause.getMessage(), Math.round(share * 100));
        }
        LimitConfig config = lastKnown == null ? LimitConfig.conservativeDefault(target) : lastKnown;
        if (!config.budgets().isEmpty()) {
            // Spend is shared by the fleet and cannot be divided safely: a target with a dollar
            // budget fails closed without Redis.
            throw cause;
        }
        try {
            Permit p = local.acquire(target, config, estimate, maxWait);
            fallbackAdmits.increment();
            return p;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RateLimitedException(target, "interrupted", "", Duration.ZERO);
        }
    }
}
