package io.llmlimiter.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.Accounting;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.scripts.LuaScript;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Dollar budgets in the scripts, driven with an explicit clock: reservation at admission,
 * correction to the actual cost at completion, sliding windows and UTC calendar resets.
 */
@Tag("redis-features")
@WithRedis
class DollarBudgetScriptTest {

    private static final AtomicInteger SEQ = new AtomicInteger();
    /** 2026-12-31 23:59:59 UTC, in ms: one second before both a day and a month (and a year) end. */
    private static final long BEFORE_NEW_YEAR_MS = Instant.parse("2026-12-31T23:59:59Z").toEpochMilli();
    private static final long NEW_YEAR_US = Instant.parse("2027-01-01T00:00:00Z").toEpochMilli() * 1000;
    private static final long NOON_MS = Instant.parse("2026-12-15T12:00:00Z").toEpochMilli();

    private final RedisProcess redis;
    private ScriptHarness h;

    DollarBudgetScriptTest(RedisProcess redis) {
        this.redis = redis;
    }

    @BeforeEach
    void connect(TestInfo info) {
        h = new ScriptHarness(redis.uri(), new Target("test", info.getTestMethod().orElseThrow().getName() + SEQ.incrementAndGet()));
    }

    @AfterEach
    void close() {
        h.close();
    }

    private void config(String limits, String accounting) {
        LimitConfig c = LimitConfig.builder(h.target).limits(limits).accounting(Accounting.fromLabel(accounting))
                .leaseTtl(Duration.ofMinutes(10)).build();
        StringBuilder spec = new StringBuilder();
        c.limits().forEach(l -> spec.append(spec.length() == 0 ? "" : ",").append(l.resource().code()).append(':')
                .append(l.amount()).append(':').append(l.window().toMillis()));
        h.runner.run(LuaScript.SET_CONFIG, ScriptOutputType.INTEGER, h.keys, "put", spec.toString(), "0", "600000",
                accounting, c.toJson(), h.keys.channel(), "0", ConfigJson.scriptBudgets(c)).join();
    }

    /** An acquire of 100 tokens whose estimate costs {@code micros}. */
    private List<Object> acquire(String id, long micros, long nowMs) {
        return h.runner.<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, h.keys, id, "100", "50", "50",
                Long.toString(nowMs * 1000), "0", "3000", h.keys.channel(), "0", Long.toString(micros)).join();
    }

    private List<Object> complete(String id, long admittedUs, long reserved, long actual, long nowMs, boolean resend) {
        return h.runner.<List<Object>>run(LuaScript.COMPLETE, ScriptOutputType.MULTI, h.keys, id, "1", "50", "50", "0",
                Long.toString(nowMs * 1000), h.keys.channel(), resend ? "1" : "0", Long.toString(admittedUs), "100",
                "50", "50", Long.toString(reserved), Long.toString(actual)).join();
    }

    private String stat(String field) {
        return h.redis().hget(h.keys.stats(), field);
    }

    @Test
    void aDailyBudgetRefusesAtOnceNamingWhatIsLeftAndResetsAtUtcMidnight() {
        config("requests=100/1m,usd=1/day", "keep");
        assertThat(acquire("a", 600_000, BEFORE_NEW_YEAR_MS).get(0)).isEqualTo(1L);

        List<Object> refused = acquire("b", 600_000, BEFORE_NEW_YEAR_MS + 1);

        assertThat(refused).containsExactly(0L, "budget", NEW_YEAR_US, "usd:1000000:day",
                (BEFORE_NEW_YEAR_MS + 1) * 1000, 400_000L);
        assertThat(acquire("b", 600_000, BEFORE_NEW_YEAR_MS + 999).get(0)).isEqualTo(0L);
        assertThat(acquire("b", 600_000, NEW_YEAR_US / 1000).get(0)).isEqualTo(1L);
        assertThat(stat("refused_budget")).isEqualTo("2");
    }

    @Test
    void aMonthlyBudgetResetsAtTheFirstOfTheMonthNotAtMidnight() {
        config("requests=100/1m,usd=2/month", "keep");
        assertThat(acquire("a", 1_500_000, NOON_MS).get(0)).isEqualTo(1L);
        // The next day is the same month: still refused.
        assertThat(acquire("b", 600_000, NOON_MS + 86_400_000L)).element(1).isEqualTo("budget");
        assertThat(acquire("b", 600_000, NOON_MS + 86_400_000L).get(2))
                .isEqualTo(NEW_YEAR_US);
        assertThat(acquire("b", 600_000, NEW_YEAR_US / 1000).get(0)).isEqualTo(1L);
    }

    @Test
    void aCostLargerThanTheWholeBudgetIsRefusedWithNoTimeItCouldFit() {
        config("requests=100/1m,usd=1/1h", "keep");

        List<Object> refused = acquire("a", 1_000_001, NOON_MS);

        assertThat(refused.subList(0, 4)).containsExactly(0L, "budget", 0L, "usd:1000000:3600000");
        assertThat(refused.get(5)).isEqualTo(1_000_000L);
    }

    @Test
    void aSlidingBudgetFreesAsSpendAgesOutAndNamesWhen() {
        config("requests=100/1m,usd=1/1h", "keep");
        assertThat(acquire("a", 700_000, NOON_MS).get(0)).isEqualTo(1L);

        List<Object> refused = acquire("b", 700_000, NOON_MS + 60_000);

        assertThat(refused.get(1)).isEqualTo("budget");
        long freesAt = (Long) refused.get(2);
        // The 64-bucket ring frees a charge at most one bucket width (1h / 64) after its hour.
        assertThat(freesAt).isBetween((NOON_MS + 3_600_000) * 1000, (NOON_MS + 3_600_000 + 3_600_000 / 64 + 1) * 1000);
        assertThat(acquire("b", 700_000, freesAt / 1000 - 1).get(0)).isEqualTo(0L);
        assertThat(acquire("b", 700_000, freesAt / 1000 + 1).get(0)).isEqualTo(1L);
    }

    @ParameterizedTest
    @ValueSource(strings = {"keep", "actual"})
    void completionCorrectsTheReservationToTheActualCostOnce(String accounting) {
        config("requests=100/1m,usd=1/day", accounting);
        long at = (Long) acquire("a", 800_000, NOON_MS).get(1);
        assertThat(acquire("b", 300_000, NOON_MS + 1)).element(1).isEqualTo("budget");

        // The call cost less than its estimate: the difference is refunded, whatever the accounting.
        complete("a", at, 800_000, 500_000, NOON_MS + 2, false);
        complete("a", at, 800_000, 500_000, NOON_MS + 3, true);

        assertThat(acquire("b", 300_000, NOON_MS + 4).get(0)).isEqualTo(1L);
        assertThat(acquire("c", 300_000, NOON_MS + 5)).containsExactly(0L, "budget",
                Instant.parse("2026-12-16T00:00:00Z").toEpochMilli() * 1000, "usd:1000000:day", (NOON_MS + 5) * 1000,
                200_000L);
        assertThat(stat("cost_usd_micros")).isEqualTo("500000");
    }

    @ParameterizedTest
    @ValueSource(strings = {"keep", "actual"})
    void usageAboveTheEstimateChargesTheExtra(String accounting) {
        config("requests=100/1m,usd=1/1h", accounting);
        long at = (Long) acquire("a", 400_000, NOON_MS).get(1);

        complete("a", at, 400_000, 900_000, NOON_MS + 10, false);

        List<Object> refused = acquire("b", 200_000, NOON_MS + 20);
        assertThat(refused.get(1)).isEqualTo("budget");
        assertThat(refused.get(5)).isEqualTo(100_000L);
    }

    @Test
    void aBatchStopsAtTheFirstRequestThatWouldPassTheBudget() {
        config("requests=100/1m,usd=1/day", "keep");
        List<String> args = new ArrayList<>(List.of("h", "10", "5", "5", Long.toString(NOON_MS * 1000), "0", "3000",
                h.keys.channel(), "3", "f1", "10", "5", "5", "f2", "10", "5", "5", "f3", "10", "5", "5"));
        args.addAll(List.of("400000", "400000", "300000", "100000"));

        List<Object> reply = h.runner.<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, h.keys,
                args.toArray(String[]::new)).join();

        // h and f1 fit ($0.80), f2 would pass $1: the batch ends there, f3 is not tried.
        assertThat(reply.get(0)).isEqualTo(1L);
        assertThat(reply.get(4)).isEqualTo(1L);
        assertThat(acquire("x", 200_000, NOON_MS + 10).get(0)).isEqualTo(1L);
        assertThat(acquire("y", 1, NOON_MS + 11)).element(1).isEqualTo("budget");
    }

    @Test
    void changingTheAmountKeepsWhatWasSpent() {
        config("requests=100/1m,usd=1/day", "keep");
        assertThat(acquire("a", 900_000, NOON_MS).get(0)).isEqualTo(1L);

        config("requests=100/1m,usd=2/day", "keep");

        assertThat(acquire("b", 1_000_000, NOON_MS + 1).get(0)).isEqualTo(1L);
        assertThat(acquire("c", 200_000, NOON_MS + 2).get(5)).isEqualTo(100_000L);
    }
}
