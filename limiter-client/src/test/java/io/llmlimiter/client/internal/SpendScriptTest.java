package io.llmlimiter.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.Target;
import io.llmlimiter.scripts.LuaScript;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/** spend.lua with an explicit clock: tenants' spend per UTC day and month under a cap, and waits per class. */
@WithRedis
class SpendScriptTest {

    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final long NOON_MS = Instant.parse("2026-12-15T12:00:00Z").toEpochMilli();
    private static final long NEXT_DAY_MS = Instant.parse("2026-12-16T09:00:00Z").toEpochMilli();
    private static final long NEXT_MONTH_MS = Instant.parse("2027-01-01T00:00:01Z").toEpochMilli();

    private final RedisProcess redis;
    private ScriptHarness h;

    SpendScriptTest(RedisProcess redis) {
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

    /** Sends spend.lua with no untenanted cost, the given cap and tenant pairs, then the wait groups. */
    private long spend(long nowMs, int cap, List<String> tenants, String... waits) {
        List<String> args = new ArrayList<>(List.of("0", Long.toString(nowMs * 1000), Integer.toString(cap),
                Integer.toString(tenants.size() / 2)));
        args.addAll(tenants);
        args.add(Integer.toString(waits.length / 4));
        args.addAll(List.of(waits));
        return h.runner.<Long>run(LuaScript.SPEND, ScriptOutputType.INTEGER, h.keys, args.toArray(String[]::new)).join();
    }

    private List<io.llmlimiter.client.TenantUsage> tenants(long nowMs) {
        return RedisAdmin.tenantUsage(Map.of(), h.redis().hgetall(h.keys.tenantCosts()), null, nowMs);
    }

    private long month(String tenant, long nowMs) {
        return tenants(nowMs).stream().filter(u -> u.tenant().equals(tenant)).findFirst().orElseThrow().costMonthMicros();
    }

    private long today(String tenant, long nowMs) {
        return tenants(nowMs).stream().filter(u -> u.tenant().equals(tenant)).findFirst().orElseThrow().costTodayMicros();
    }

    @Test
    void aTenantsSpendAddsUpPerDayAndMonthAndANewMonthStartsFromNothing() {
        spend(NOON_MS, 10, List.of("a", "300", "b", "5"));
        spend(NOON_MS + 1000, 10, List.of("a", "200"));
        spend(NEXT_DAY_MS, 10, List.of("a", "7"));

        assertThat(month("a", NEXT_DAY_MS)).isEqualTo(507);
        assertThat(today("a", NEXT_DAY_MS)).isEqualTo(7);
        assertThat(today("b", NEXT_DAY_MS)).isZero();
        assertThat(month("b", NEXT_DAY_MS)).isEqualTo(5);
        // The hash lives until a day after the month ends (from its first write), and no longer.
        long ttl = h.redis().pttl(h.keys.tenantCosts());
        assertThat(ttl).isGreaterThan(Instant.parse("2027-01-01T00:00:00Z").toEpochMilli() - NEXT_DAY_MS)
                .isLessThanOrEqualTo(Instant.parse("2027-01-02T00:00:00Z").toEpochMilli() - NOON_MS);
        // Read in the next month, the old month's spend counts for nothing.
        assertThat(tenants(NEXT_MONTH_MS)).isEmpty();

        spend(NEXT_MONTH_MS, 10, List.of("b", "11"));

        assertThat(h.redis().hkeys(h.keys.tenantCosts())).containsExactlyInAnyOrder("mo", "n", "m:b", "d:b");
        assertThat(month("b", NEXT_MONTH_MS)).isEqualTo(11);
    }

    @Test
    void pastTheCapNewTenantsCountAsOtherUntilTheMonthEnds() {
        spend(NOON_MS, 2, List.of("a", "1", "b", "2", "c", "3"));
        spend(NOON_MS, 2, List.of("d", "4", "a", "5"));

        assertThat(month("a", NOON_MS)).isEqualTo(6);
        assertThat(month("b", NOON_MS)).isEqualTo(2);
        assertThat(month("other", NOON_MS)).isEqualTo(7);
        assertThat(h.redis().hkeys(h.keys.tenantCosts())).hasSize(2 + 3 * 2);

        spend(NEXT_MONTH_MS, 2, List.of("c", "8"));

        assertThat(month("c", NEXT_MONTH_MS)).isEqualTo(8);
    }

    @Test
    void waitsAddUpPerClassWithTheLongestKept() {
        spend(NOON_MS, 2, List.of(), "batch", "2", "3000", "2500", "background", "1", "10", "10");
        spend(NOON_MS, 2, List.of(), "batch", "1", "100", "100", "nobody", "1", "1", "1");

        Map<String, String> stats = h.redis().hgetall(h.keys.stats());
        assertThat(stats).containsEntry("wait_count:batch", "3").containsEntry("wait_us:batch", "3100")
                .containsEntry("wait_max_us:batch", "2500").containsEntry("wait_count:background", "1")
                .doesNotContainKey("wait_count:nobody");
    }

    @Test
    void moreTenantsThanOneCallTakesAreRefused() {
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 129; i++) {
            many.add("t" + i);
            many.add("1");
        }
        assertThatThrownBy(() -> spend(NOON_MS, 1000, many)).hasMessageContaining("at most 128 tenants");
    }
}
