package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.Accounting;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TargetUsage;
import io.llmlimiter.server.mock.HeaderStyle;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Three worker JVMs doing 100 calls through {@code execute} against a strict provider: its windows
 * count a call when it arrives, a random 0-100 ms after the client sent it, and it sends no
 * rate-limit headers that could slow the fleet down before a 429. Users configure the provider's
 * published numbers; the delivery margin absorbs the arrival delay, and a provider 429 teaches the
 * fleet the real limit when the configured one is too high. (With the margin set to 0, limits
 * equal to the provider's drew 12 provider 429s here, and about 30 before learning existed.)
 */
@WithRedis
class StrictProviderTest {

    private static final int CALLS = 100;
    private static final int PROCESSES = 3;
    private static final int THREADS = 4;
    private static final int PROMPT_TOKENS = 20;
    private static final int MAX_TOKENS = 50;
    /** The provider's real limits, as in the field report: 20 requests per 2 s, counted on arrival. */
    private static final String PROVIDER_LIMITS = "requests=20/2s";

    private MockProvider provider;

    @BeforeEach
    void startProvider() {
        provider = MockProvider.start(MockProviderConfig.builder().requests(20, Duration.ofSeconds(2))
                .latency(Duration.ofMillis(100), Duration.ofMillis(50))
                .arrivalDelay(Duration.ofMillis(100)).headerStyle(HeaderStyle.NONE).build());
    }

    @AfterEach
    void stopProvider() {
        provider.close();
    }

    @Test
    void limitsEqualToTheProvidersGetNoProvider429(RedisProcess redis) throws Exception {
        Target t = new Target("strict", "equal");
        configure(redis, t, PROVIDER_LIMITS);

        Summary s = run(redis, t);

        System.out.printf(Locale.ROOT, "strict provider, limits equal: %s%n", describe(s));
        assertThat(s.failed()).as(describe(s)).isZero();
        assertThat(s.succeeded()).isEqualTo(CALLS);
        assertThat(provider.rateLimitedCount()).as(describe(s)).isZero();
        assertThat(s.provider429()).isZero();
        // Nothing reached the provider but the calls themselves.
        assertThat(provider.requestsReceived()).isEqualTo(CALLS);
        assertThat(provider.maxRequestsInAnyWindow(Duration.ofSeconds(2))).isLessThanOrEqualTo(20);
    }

    @Test
    void limitsFiftyPercentAboveTheProvidersAreLearnedWithFewProvider429sAndNoFailedCall(RedisProcess redis)
            throws Exception {
        Target t = new Target("strict", "above");
        configure(redis, t, "requests=30/2s");

        Summary s;
        StringBuffer trace = new StringBuffer();
        try (EffectiveTrace sampler = new EffectiveTrace(redis, t, trace)) {
            s = run(redis, t);
        }

        String what = describe(s) + "; used/effective over time:" + trace;
        System.out.printf(Locale.ROOT, "strict provider, limits 50%% above: %s%n", what);
        assertThat(s.failed()).as(what).isZero();
        assertThat(s.succeeded()).isEqualTo(CALLS);
        assertThat(provider.rateLimitedCount()).as(what).isLessThanOrEqualTo(10);
        // Every request the provider saw was one attempt of a call: the successes and the 429s.
        assertThat(provider.requestsReceived()).isEqualTo(CALLS + provider.rateLimitedCount());
        // The fleet learned from the provider's refusals (echoes of one shrink do not count again).
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            assertThat(limiter.admin().stats(t)).as(describe(s)).containsKey("learned_429");
            assertThat(limiter.admin().stats(t).get("learned_429")).isBetween(1L, provider.rateLimitedCount());
        }
        // The makespan against the provider's true floor is reported, not asserted: CI machines are
        // too noisy for a timing bound (1.43x on a busy 2-core machine).
    }

    /** Samples the request limit's used and effective amounts every 250 ms, for the test's report. */
    private static final class EffectiveTrace implements AutoCloseable {
        private final LlmLimiter limiter;
        private final Thread thread;
        private volatile boolean stop;

        EffectiveTrace(RedisProcess redis, Target t, StringBuffer out) {
            limiter = LlmLimiter.builder().redis(redis.uri()).build();
            long start = System.nanoTime();
            thread = new Thread(() -> {
                while (!stop) {
                    TargetUsage.WindowUsage w = limiter.admin().usage(t).windows().get(0);
                    out.append(String.format(Locale.ROOT, " %.1fs:%d/%d%s", (System.nanoTime() - start) / 1e9,
                            w.used(), w.effective(), w.learned() ? "(" + w.reason() + ")" : ""));
                    try {
                        Thread.sleep(250);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "effective-trace");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            thread.join();
            limiter.close();
        }
    }

    private void configure(RedisProcess redis, Target t, String limits) {
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(t).limits(limits).accounting(Accounting.KEEP).build());
        }
        provider.resetWindows();
        provider.resetCounters();
    }

    private Summary run(RedisProcess redis, Target t) throws Exception {
        WorkloadSpec spec = new WorkloadSpec(provider.baseUrl(), t, THREADS, PROMPT_TOKENS, MAX_TOKENS, false, 0,
                Duration.ZERO, redis.uri(), null, Duration.ofSeconds(30));
        Double floor = spec.floorSeconds(List.of(Limit.parse(PROVIDER_LIMITS)), 0, CALLS, Duration.ofMillis(50));
        StringWriter progress = new StringWriter();
        return WorkloadRun.run(spec, CALLS, PROCESSES, floor, new PrintWriter(progress, true), "strict");
    }

    /**
     * The provider's true floor for the run: call k can start no earlier than {@code k / 20} whole
     * windows after the first, so the last starts 4 windows in and takes at least the shortest latency.
     */
    static double floorSeconds() {
        return (CALLS - 1) / 20 * 2.0 + 0.05;
    }

    private String describe(Summary s) {
        return String.format(Locale.ROOT, "%d/%d succeeded, %d failed, %d provider 429s (provider counted %d), "
                        + "%d retries, makespan %.1f s = %.2fx the provider's true floor of %.2f s; errors %s",
                s.succeeded(), s.requests(), s.failed(), s.provider429(), provider.rateLimitedCount(), s.retries(),
                s.wallSeconds(), s.wallSeconds() / floorSeconds(), floorSeconds(), s.errors());
    }
}
