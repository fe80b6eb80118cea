package io.llmlimiter.client.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.llmlimiter.client.Target;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The client's meters: one prefix, a {@code target} tag, values bounded by configuration (limits,
 * failure kinds). Never keys, prompts or ids. This class is thread-safe.
 */
public final class LimiterMetrics {

    /** The prefix of every meter the client registers. */
    public static final String PREFIX = "llmlimiter.client.";

    private final MeterRegistry registry;
    private final Map<Target, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final Map<Target, AtomicInteger> onDefault = new ConcurrentHashMap<>();

    /**
     * @param registry where to register, or null for none
     */
    public LimiterMetrics(MeterRegistry registry) {
        this.registry = registry == null ? new CompositeMeterRegistry() : registry;
    }

    MeterRegistry registry() {
        return registry;
    }

    void acquired(Target t, Duration waited) {
        Timer.builder(PREFIX + "acquire.wait").description("Time from acquire to admission")
                .tags(tags(t)).register(registry).record(waited);
        Counter.builder(PREFIX + "admitted").tags(tags(t)).register(registry).increment();
        inFlight(t).incrementAndGet();
    }

    void released(Target t) {
        inFlight(t).decrementAndGet();
    }

    /** A completion or release that never reached Redis: its lease expires at its TTL, usage went unrecorded. */
    void backgroundFailed(Target t, String what) {
        Counter.builder(PREFIX + "redis.lost").description("Completions and releases that never reached Redis")
                .tags(tags(t).and("operation", what)).register(registry).increment();
    }

    void refused(Target t, String reason, String limit) {
        Counter.builder(PREFIX + "refused").description("Acquires that gave up, by the refusing limit")
                .tags(tags(t).and("reason", reason, "limit", limit.isEmpty() ? reason : limit))
                .register(registry).increment();
    }

    void retry(Target t, String kind) {
        Counter.builder(PREFIX + "retries").tags(tags(t).and("reason", kind)).register(registry).increment();
    }

    void providerRateLimited(Target t) {
        Counter.builder(PREFIX + "provider.429").description("Provider rate-limit answers")
                .tags(tags(t)).register(registry).increment();
    }

    void tokens(Target t, long estimated, long actual) {
        Counter.builder(PREFIX + "tokens.estimated").tags(tags(t)).register(registry).increment(estimated);
        Counter.builder(PREFIX + "tokens.actual").tags(tags(t)).register(registry).increment(actual);
    }

    /**
     * @param t the target
     * @param isDefault whether it runs on a config written by default, not one it was given
     * @return whether that changed
     */
    boolean defaultConfig(Target t, boolean isDefault) {
        AtomicInteger flag = onDefault.computeIfAbsent(t, k -> {
            AtomicInteger n = new AtomicInteger();
            Gauge.builder(PREFIX + "default.config", n, AtomicInteger::get)
                    .description("1 while the target runs on the default config because Redis had none for it")
                    .tags(tags(k)).register(registry);
            return n;
        });
        return flag.getAndSet(isDefault ? 1 : 0) != (isDefault ? 1 : 0);
    }

    private AtomicInteger inFlight(Target t) {
        return inFlight.computeIfAbsent(t, k -> {
            AtomicInteger n = new AtomicInteger();
            Gauge.builder(PREFIX + "inflight", n, AtomicInteger::get).description("Permits held by this process")
                    .tags(tags(k)).register(registry);
            return n;
        });
    }

    private static Tags tags(Target t) {
        return Tags.of("target", t.toString());
    }
}
