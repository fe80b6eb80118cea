package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.retry.HttpStatusException;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code execute} tells the fleet what the provider enforces: a 429 on a call the limiter admitted
 * shrinks the binding limit, and a limit stated in the provider's headers below the configured one
 * caps it. Other limits stay as configured.
 */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LearningFromProviderTest {

    private final RedisProcess redis;
    private LlmLimiter limiter;

    LearningFromProviderTest(RedisProcess redis) {
        this.redis = redis;
    }

    @BeforeAll
    void connect() {
        limiter = LlmLimiter.builder().redis(redis.uri()).build();
    }

    @AfterAll
    void close() {
        limiter.close();
    }

    private Target configure(String model, String limits) {
        Target t = new Target("learn", model);
        limiter.admin().putConfig(LimitConfig.builder(t).limits(limits).accounting(Accounting.KEEP)
                .retry(new RetrySettings(3, Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofSeconds(30)))
                .build());
        return t;
    }

    private TargetUsage.WindowUsage window(Target t, String limit) {
        return limiter.admin().usage(t).windows().stream().filter(w -> w.limit().equals(Limit.parse(limit)))
                .findFirst().orElseThrow();
    }

    @Test
    void aProvider429OnAnAdmittedCallShrinksTheBindingLimitForTheFleet() {
        Target t = configure("on-429", "requests=10/60s,tokens=1000000/60s");
        for (int i = 0; i < 2; i++) {
            limiter.execute(t, Estimate.of(10, 10), ctx -> "ok");
        }
        AtomicInteger attempts = new AtomicInteger();

        String answer = limiter.execute(t, Estimate.of(10, 10), ctx -> {
            if (attempts.getAndIncrement() == 0) {
                throw new HttpStatusException(429);
            }
            return "ok";
        });

        assertThat(answer).isEqualTo("ok");
        // Two calls were in the window when the refused one was admitted; the floor is half of 10.
        TargetUsage.WindowUsage requests = window(t, "requests=10/60s");
        assertThat(requests.effective()).isEqualTo(5);
        assertThat(requests.reason()).isEqualTo("429");
        TargetUsage.WindowUsage tokens = window(t, "tokens=1000000/60s");
        assertThat(tokens.effective()).isEqualTo(1_000_000);
        assertThat(tokens.learned()).isFalse();
        assertThat(limiter.admin().stats(t)).containsEntry("learned_429", 1L).containsEntry("provider_429", 1L);
        // Another client of the same Redis sees the same effective limit: with 4 calls in the
        // window (the refused one included), one more fits, not six.
        try (LlmLimiter other = LlmLimiter.builder().redis(redis.uri()).build()) {
            assertThat(other.admin().usage(t).windows().get(0).used()).isEqualTo(4);
            other.tryAcquire(t, Estimate.of(10, 10)).orElseThrow().close();
            assertThat(other.tryAcquire(t, Estimate.of(10, 10))).isEmpty();
        }
    }

    @Test
    void aLimitStatedInTheProvidersHeadersBelowTheConfiguredOneCapsIt() {
        Target t = configure("headers", "requests=500/60s,tokens=30000/60s,requests=20/1s");

        limiter.execute(t, Estimate.of(10, 10), ctx -> {
            ctx.headers(Map.of("x-ratelimit-limit-requests", List.of("300"),
                    "x-ratelimit-limit-tokens", List.of("40000"),
                    "x-ratelimit-remaining-requests", List.of("299")));
            return "ok";
        });

        TargetUsage.WindowUsage perMinute = window(t, "requests=500/60s");
        assertThat(perMinute.effective()).isEqualTo(300);
        assertThat(perMinute.reason()).isEqualTo("headers");
        // Above the configured amount: nothing to learn. Another window: not the provider's.
        assertThat(window(t, "tokens=30000/60s").learned()).isFalse();
        assertThat(window(t, "requests=20/1s").effective()).isEqualTo(20);
    }
}
