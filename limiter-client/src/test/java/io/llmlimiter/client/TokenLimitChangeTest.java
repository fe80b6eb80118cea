package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Limits of token windows (tokens, input, output) changed while a target is in use: lowering or
 * raising a limit keeps what its window holds; a window added longer than every window before it
 * sees the history the log still holds, which is the previous longest window and nothing older.
 */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenLimitChangeTest {

    /** Every call: 100 input and 100 output tokens, so 200 tokens. */
    private static final Estimate CALL = Estimate.of(100, 100);

    private final RedisProcess redis;
    private final AtomicInteger seq = new AtomicInteger();
    private LlmLimiter limiter;

    TokenLimitChangeTest(RedisProcess redis) {
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

    private static long charge(Resource r) {
        return r == Resource.TOKENS ? CALL.tokens() : r == Resource.INPUT_TOKENS ? CALL.inputTokens() : CALL.outputTokens();
    }

    /** @return "input_tokens=500/30s" for 5 calls of r in 30 s */
    private static String limit(Resource r, int calls, String window) {
        return r.label() + "=" + calls * charge(r) + "/" + window;
    }

    private Target configure(Target t, String limits, Duration margin) {
        limiter.admin().putConfig(LimitConfig.builder(t).limits(limits).accounting(Accounting.KEEP)
                .deliveryMargin(margin).build());
        return t;
    }

    private int admitAll(Target t) {
        int n = 0;
        while (limiter.tryAcquire(t, CALL).map(p -> {
            p.close();
            return true;
        }).orElse(false)) {
            n++;
        }
        return n;
    }

    private void admit(Target t, int calls) {
        for (int i = 0; i < calls; i++) {
            limiter.tryAcquire(t, CALL).orElseThrow().close();
        }
    }

    private long used(Target t, int index) {
        return limiter.admin().usage(t).windows().get(index).used();
    }

    @ParameterizedTest
    @EnumSource(value = Resource.class, names = {"TOKENS", "INPUT_TOKENS", "OUTPUT_TOKENS"})
    void loweringAndRaisingATokenLimitKeepsWhatItsWindowHolds(Resource r) {
        Target t = configure(new Target("change", "lower-" + seq.incrementAndGet()), limit(r, 10, "30s"),
                LimitConfig.DEFAULT_DELIVERY_MARGIN);
        admit(t, 3);

        configure(t, limit(r, 5, "30s"), LimitConfig.DEFAULT_DELIVERY_MARGIN);
        assertThat(used(t, 0)).isEqualTo(3 * charge(r));
        assertThat(admitAll(t)).isEqualTo(2);
        assertThat(used(t, 0)).isEqualTo(5 * charge(r));

        configure(t, limit(r, 8, "30s"), LimitConfig.DEFAULT_DELIVERY_MARGIN);
        assertThat(used(t, 0)).isEqualTo(5 * charge(r));
        assertThat(admitAll(t)).isEqualTo(3);
        assertThat(used(t, 0)).isEqualTo(8 * charge(r));
    }

    @ParameterizedTest
    @EnumSource(value = Resource.class, names = {"TOKENS", "INPUT_TOKENS", "OUTPUT_TOKENS"})
    void aLongerTokenWindowAddedLaterSeesTheCallsOfThePreviousLongestWindow(Resource r) {
        Target t = configure(new Target("change", "longer-" + seq.incrementAndGet()), limit(r, 100, "30s"),
                LimitConfig.DEFAULT_DELIVERY_MARGIN);
        admit(t, 3);

        configure(t, limit(r, 100, "30s") + "," + limit(r, 4, "10m"), LimitConfig.DEFAULT_DELIVERY_MARGIN);

        assertThat(used(t, 1)).isEqualTo(3 * charge(r));
        assertThat(admitAll(t)).isEqualTo(1);
        assertThat(used(t, 1)).isEqualTo(4 * charge(r));
    }

    @ParameterizedTest
    @EnumSource(value = Resource.class, names = {"TOKENS", "INPUT_TOKENS", "OUTPUT_TOKENS"})
    void aLongerTokenWindowAddedLaterDoesNotSeeCallsOlderThanThePreviousLongestWindow(Resource r)
            throws InterruptedException {
        Target t = configure(new Target("change", "older-" + seq.incrementAndGet()), limit(r, 100, "300ms"),
                Duration.ZERO);
        admit(t, 2);
        Thread.sleep(600);
        // This admission trims the log to the longest window configured: the first two are gone.
        admit(t, 1);

        configure(t, limit(r, 100, "300ms") + "," + limit(r, 10, "10m"), Duration.ZERO);

        // The new window starts from the history the log held: one call, not three.
        assertThat(used(t, 1)).isEqualTo(charge(r));
        assertThat(admitAll(t)).isEqualTo(9);
    }
}
