package io.llmlimiter.bench;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import java.time.Duration;
import java.util.Map;

/**
 * llm-limiter: one {@link LlmLimiter} (one Lettuce connection plus its pub/sub connection)
 * shared by all load threads. One operation is one admitted call: {@code acquire} then
 * {@code complete}, two script round trips. Thread-safe.
 *
 * <p>The call shape is a typical chat call: 100 prompt tokens, {@code max_tokens} 50, and the
 * provider reports 40 output tokens. Under the default {@code keep} accounting the admission
 * charge stands, so {@code complete} releases the lease without rewriting the log entry.
 */
public final class LimiterContender implements Contender {

    /** What each call is expected to use. */
    static final Estimate ESTIMATE = Estimate.of(100, 50);
    /** What each call reports having used. */
    static final Usage USAGE = Usage.of(100, 40);

    private static final String UNLIMITED = "requests=100000000/60s";

    private final LlmLimiter limiter;
    private final int targets;

    /**
     * @param uri the Redis URI
     * @param targets how many targets the calls are spread over (1: one hot key)
     */
    public LimiterContender(String uri, int targets) {
        this.limiter = LlmLimiter.builder().redis(uri).build();
        this.targets = targets;
    }

    /**
     * @param namespace a phase namespace
     * @param index 0 to targets - 1
     * @return the target of that namespace
     */
    static Target target(String namespace, int index) {
        return Target.parse("bench/" + namespace + "." + index);
    }

    /** @return the limiter, for the memory phase */
    LlmLimiter limiter() {
        return limiter;
    }

    @Override
    public String key() {
        return targets == 1 ? "limiter" : "limiter_" + targets + "_targets";
    }

    @Override
    public String label() {
        return "llm-limiter acquire+complete, " + (targets == 1 ? "1 target" : targets + " targets round-robin");
    }

    @Override
    public String blockingLabel() {
        return "llm-limiter acquire(maxWait 30 s) + complete";
    }

    @Override
    public Map<String, Long> counters(String namespace) {
        return limiter.admin().stats(target(namespace, 0));
    }

    @Override
    public Op unlimited(String namespace) {
        return calls(namespace, UNLIMITED, Duration.ofSeconds(5));
    }

    @Override
    public Op overloaded(String namespace, int perSecond) {
        return calls(namespace, "requests=" + perSecond + "/1s", Duration.ofSeconds(30));
    }

    private Op calls(String namespace, String limits, Duration maxWait) {
        Target[] all = new Target[targets];
        for (int i = 0; i < targets; i++) {
            all[i] = target(namespace, i);
            limiter.admin().putConfig(LimitConfig.builder(all[i]).limits(limits).maxConcurrent(0)
                    .deliveryMargin(Duration.ZERO).build());
        }
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        return thread -> {
            // Several targets: round-robin, so every target is used equally often.
            Target t = targets == 1 ? all[0] : all[Math.floorMod(next.getAndIncrement(), targets)];
            Permit permit = limiter.acquire(t, ESTIMATE, maxWait);
            permit.complete(USAGE);
        };
    }

    @Override
    public String keyPattern(String namespace) {
        return "llmlim:{bench/" + namespace + ".*";
    }

    @Override
    public void close() {
        limiter.close();
    }
}
