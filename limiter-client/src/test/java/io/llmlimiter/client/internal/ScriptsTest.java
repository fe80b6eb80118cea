package io.llmlimiter.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/** The Lua scripts, driven with an explicit clock so every number can be checked exactly. */
@Tag("redis-features")
@WithRedis
class ScriptsTest {

    private static final AtomicInteger SEQ = new AtomicInteger();
    private final RedisProcess redis;
    private ScriptHarness h;

    ScriptsTest(RedisProcess redis) {
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

    @Test
    void admitsUpToTheAmountAndNamesTheExactTimeTheNextFits() {
        h.config("requests=3/10s", 0, 60_000, "keep");
        assertThat(h.acquire("a", 0, 1_000).get(0)).isEqualTo(1L);
        assertThat(h.acquire("b", 0, 2_000).get(0)).isEqualTo(1L);
        assertThat(h.acquire("c", 0, 3_000).get(0)).isEqualTo(1L);

        List<Object> refused = h.acquire("d", 0, 4_000);

        assertThat(refused).containsExactly(0L, "window", 11_000_000L, "r:3:10000", 4_000_000L);
        assertThat(h.acquire("d", 0, 10_999).get(0)).isEqualTo(0L);
        assertThat(h.acquire("d", 0, 11_000).get(0)).isEqualTo(1L);
    }

    @Test
    void refusalRecordsNothing() {
        h.config("requests=1/10s", 0, 60_000, "keep");
        h.acquire("a", 0, 1_000);
        for (int i = 0; i < 5; i++) {
            h.acquire("x" + i, 0, 2_000 + i);
        }
        assertThat(h.log()).hasSize(1);
        // No concurrency cap: no lease, only the admission record that answers replays.
        assertThat(h.redis().zcard(h.keys.keys()[3])).isZero();
        assertThat(h.redis().hkeys(h.keys.keys()[4])).filteredOn(f -> !f.startsWith("#")).containsExactly("a");
        assertThat(h.acquire("b", 0, 11_000).get(0)).isEqualTo(1L);
    }

    @Test
    void everyWindowIsCheckedAndTheLatestRetryTimeWins() {
        h.config("requests=2/1s,requests=3/10s", 0, 60_000, "keep");
        h.acquire("a", 0, 0);
        h.acquire("b", 0, 100);
        assertThat(h.acquire("c", 0, 200)).startsWith(0L, "window", 1_000_000L, "r:2:1000");
        assertThat(h.acquire("c", 0, 1_000).get(0)).isEqualTo(1L);
        // 3 in the 10 s window now: the short window is free but the long one refuses until a leaves.
        assertThat(h.acquire("d", 0, 2_500)).startsWith(0L, "window", 10_000_000L, "r:3:10000");
    }

    @Test
    void tokenWindowsCountTheEstimateAndNameWhenEnoughTokensLeave() {
        h.config("tokens=1000/10s", 0, 60_000, "keep");
        assertThat(h.acquire("a", 400, 1_000).get(0)).isEqualTo(1L);
        assertThat(h.acquire("b", 300, 2_000).get(0)).isEqualTo(1L);
        assertThat(h.acquire("c", 200, 3_000).get(0)).isEqualTo(1L);

        // 900 used; 600 more needs a (400) and b (300) to leave: at 12 s.
        assertThat(h.acquire("d", 600, 4_000)).startsWith(0L, "window", 12_000_000L, "t:1000:10000");
        assertThat(h.acquire("d", 600, 11_500).get(0)).isEqualTo(0L);
        assertThat(h.acquire("d", 600, 12_000).get(0)).isEqualTo(1L);
        assertThat(usedOf(h.usage(12_000), "t:1000:10000")).isEqualTo(800);
    }

    @Test
    void inputAndOutputLimitsUseTheSplitEstimate() {
        h.config("input_tokens=1000/10s,output_tokens=200/10s", 0, 60_000, "keep");
        assertThat(h.acquire("a", 900, 800, 100, 0, false).get(0)).isEqualTo(1L);
        assertThat(h.acquire("b", 250, 100, 150, 10, false)).startsWith(0L, "window", 10_000_000L, "o:200:10000");
        assertThat(h.acquire("c", 400, 300, 100, 20, false)).startsWith(0L, "window", 10_000_000L, "i:1000:10000");
        assertThat(h.acquire("d", 200, 100, 100, 30, false).get(0)).isEqualTo(1L);
    }

    @Test
    void anEstimateLargerThanAWindowFailsAtOnce() {
        h.config("requests=10/1s,tokens=30000/60s", 0, 60_000, "keep");
        assertThat(h.acquire("big", 50_000, 0)).containsExactly(-1L, "t:30000:60000");
    }

    @Test
    void aTargetWithoutConfigSaysSo() {
        assertThat(h.acquire("a", 0, 0)).containsExactly(-2L);
    }

    @Test
    void aReplayedAcquireWithTheSameIdDoesNotCountTwice() {
        h.config("requests=5/10s", 0, 60_000, "keep");
        List<Object> first = h.acquire("same", 0, 1_000);
        List<Object> replay = h.acquire("same", 0, 1_005);

        assertThat(first).containsExactly(1L, 1_000_000L, 0L, 0L, 0L);
        assertThat(replay).containsExactly(1L, first.get(1), first.get(2), 1L, 0L);
        assertThat(h.log()).hasSize(1);
        assertThat(usedOf(h.usage(1_010), "r:5:10000")).isEqualTo(1);
    }

    @Test
    void concurrencyCapRefusesUntilALeaseIsReleasedOrExpires() {
        h.config("requests=100/1s", 2, 5_000, "keep");
        h.acquire("a", 0, 0);
        h.acquire("b", 0, 1_000);
        assertThat(h.acquire("c", 0, 2_000)).startsWith(0L, "concurrency", 5_000_000L);
        h.release("a", 2_100);
        assertThat(h.acquire("c", 0, 2_200).get(0)).isEqualTo(1L);
        // b's holder crashed: its lease expires at 6 s without renewal.
        assertThat(h.acquire("d", 0, 5_999).get(0)).isEqualTo(0L);
        assertThat(h.acquire("d", 0, 6_000).get(0)).isEqualTo(1L);
    }

    @Test
    void renewingALeaseKeepsItPastItsTtl() {
        h.config("requests=100/1s", 1, 5_000, "keep");
        h.acquire("a", 0, 0);
        assertThat(h.renew("a", 4_000)).isEqualTo(9_000_000L);
        assertThat(h.acquire("b", 0, 8_000).get(0)).isEqualTo(0L);
        assertThat(h.acquire("b", 0, 9_000).get(0)).isEqualTo(1L);
        assertThat(h.renew("a", 9_100)).isEqualTo(0L);
    }

    @Test
    void keepAccountingLeavesTheAdmissionCharge() {
        h.config("tokens=1000/10s", 0, 60_000, "keep");
        h.acquire("a", 800, 0);
        // No concurrency cap, so no lease to release (released 0); the usage is recorded all the same.
        assertThat(h.complete("a", 100, 50, 100)).containsExactly(0L, 800L, 800L, 800L);
        assertThat(usedOf(h.usage(200), "t:1000:10000")).isEqualTo(800);
        assertThat(h.acquire("b", 300, 300).get(0)).isEqualTo(0L);
    }

    @Test
    void keepAccountingAddsUsageAboveTheEstimate() {
        h.config("tokens=1000/10s", 0, 60_000, "keep");
        h.acquire("a", 300, 150, 150, 0, false);
        h.complete("a", 400, 200, 100);
        assertThat(usedOf(h.usage(200), "t:1000:10000")).isEqualTo(600);
    }

    @Test
    void actualAccountingCorrectsEveryWindowStillHoldingTheRequest() {
        h.config("tokens=1000/10s,tokens=5000/60s", 0, 60_000, "actual");
        h.acquire("a", 800, 0);
        h.acquire("b", 100, 5_000);
        // Advance the 10 s window past a, then complete a: only the 60 s window still holds it.
        h.acquire("c", 100, 10_500);
        h.complete("a", 100, 50, 10_600);

        List<Object> usage = h.usage(10_700);
        assertThat(usedOf(usage, "t:1000:10000")).isEqualTo(200);
        assertThat(usedOf(usage, "t:5000:60000")).isEqualTo(350);
        // The running sums agree with the log: the acquire script sees the same numbers.
        assertThat(h.acquire("d", 800, 10_800).get(0)).isEqualTo(1L);
        assertThat(h.acquire("e", 1, 10_900)).startsWith(0L, "window", 15_000_000L, "t:1000:10000");
    }

    @Test
    void aLimitChangeAppliesAtOnceAndKeepsTheWindowState() {
        h.config("requests=10/10s", 0, 60_000, "keep");
        for (int i = 0; i < 5; i++) {
            assertThat(h.acquire("a" + i, 0, i).get(0)).isEqualTo(1L);
        }
        h.config("requests=7/10s", 0, 60_000, "keep");
        assertThat(h.acquire("b0", 0, 10).get(0)).isEqualTo(1L);
        assertThat(h.acquire("b1", 0, 11).get(0)).isEqualTo(1L);
        assertThat(h.acquire("b2", 0, 12).get(0)).isEqualTo(0L);
        h.config("requests=7/10s,tokens=100/10s", 0, 60_000, "keep");
        assertThat(h.acquire("b2", 200, 13)).startsWith(-1L);
    }

    @Test
    void waitersAreAdmittedInArrivalOrder() {
        h.config("tokens=1000/10s", 0, 60_000, "keep");
        h.acquire("fill", 900, 900, 900, 0, true);
        // A large request arrives first and waits; a small one that would fit must queue behind it.
        assertThat(h.acquire("large", 800, 800, 800, 100, true)).startsWith(0L, "window", 10_000_000L);
        assertThat(h.acquire("small", 50, 50, 50, 200, true)).startsWith(0L, "queued");
        assertThat(h.acquire("other", 50, 50, 50, 300, false)).startsWith(0L, "queued");
        for (long heartbeat = 1_500; heartbeat < 10_000; heartbeat += 1_500) {
            // Both check in every half ticket TTL; the large one waits for its exact time.
            assertThat(h.acquire("large", 800, 800, 800, heartbeat, true)).startsWith(0L, "window", 10_000_000L);
            assertThat(h.acquire("small", 50, 50, 50, heartbeat, true)).startsWith(0L, "queued");
        }
        assertThat(h.acquire("small", 50, 50, 50, 10_000, true)).startsWith(0L, "queued");
        assertThat(h.acquire("large", 800, 800, 800, 10_000, true).get(0)).isEqualTo(1L);
        assertThat(h.acquire("small", 50, 50, 50, 10_001, true).get(0)).isEqualTo(1L);
    }

    @Test
    void anAbandonedTicketExpiresAndStopsBlockingTheLine() {
        h.config("requests=1/1s", 0, 60_000, "keep");
        h.acquire("fill", 0, 0, 0, 0, true);
        assertThat(h.acquire("gone", 0, 0, 0, 10, true)).startsWith(0L, "window", 1_000_000L);
        assertThat(h.acquire("next", 0, 0, 0, 20, true)).startsWith(0L, "queued");
        // gone never comes back; its ticket lapses one ticket TTL (3 s) after its last attempt,
        // whatever its retry time was.
        assertThat(h.acquire("next", 0, 0, 0, 3_000, true)).startsWith(0L, "queued");
        assertThat(h.acquire("next", 0, 0, 0, 3_011, true).get(0)).isEqualTo(1L);
    }

    @Test
    void aCooldownPausesEveryAcquire() {
        h.config("requests=100/1s", 0, 60_000, "keep");
        h.runner.run(io.llmlimiter.scripts.LuaScript.COOLDOWN, io.lettuce.core.ScriptOutputType.INTEGER, h.keys,
                "2000", "1000000").join();
        assertThat(h.acquire("a", 0, 1_500)).startsWith(0L, "cooldown", 3_000_000L);
        assertThat(h.acquire("a", 0, 3_000).get(0)).isEqualTo(1L);
        assertThat(h.redis().hget(h.keys.stats(), "provider_429")).isEqualTo("1");
    }

    @Test
    void aProviderSignalCapsAdmissionsUntilItsReset() {
        h.config("requests=100/60s", 0, 60_000, "keep");
        h.runner.run(io.llmlimiter.scripts.LuaScript.SIGNAL, io.lettuce.core.ScriptOutputType.INTEGER, h.keys,
                "r", "2", "5000", "0").join();
        assertThat(h.acquire("a", 0, 10).get(0)).isEqualTo(1L);
        assertThat(h.acquire("b", 0, 20).get(0)).isEqualTo(1L);
        assertThat(h.acquire("c", 0, 30)).startsWith(0L, "provider", 5_000_000L, "r");
        assertThat(h.acquire("c", 0, 5_000).get(0)).isEqualTo(1L);
    }

    @Test
    void aStaleProviderSignalDoesNotRaiseTheRemainingBudget() {
        h.config("requests=100/60s", 0, 60_000, "keep");
        signal("r", 0, 5_000, 0);
        // A response sent before the last one arrives later and says 3 remain in the same window.
        signal("r", 3, 4_900, 50);
        assertThat(h.acquire("a", 0, 100)).startsWith(0L, "provider", 5_000_000L, "r");
        // A report for the next window replaces it.
        signal("r", 10, 60_000, 5_000);
        assertThat(h.acquire("a", 0, 5_001).get(0)).isEqualTo(1L);
    }

    private void signal(String resource, long remaining, long resetMs, long nowMs) {
        h.runner.run(io.llmlimiter.scripts.LuaScript.SIGNAL, io.lettuce.core.ScriptOutputType.INTEGER, h.keys,
                resource, Long.toString(remaining), Long.toString(resetMs), Long.toString(nowMs * 1000)).join();
    }

    @Test
    void usageReportsLeasesWaitersAndEveryWindow() {
        h.config("requests=2/10s,tokens=500/10s", 1, 60_000, "keep");
        h.acquire("a", 100, 0);
        h.acquire("b", 100, 100, 100, 10, true);
        List<Object> u = h.usage(20);
        assertThat(u.subList(1, 4)).containsExactly(1L, 1L, 0L);
        assertThat(usedOf(u, "r:2:10000")).isEqualTo(1);
        assertThat(usedOf(u, "t:500:10000")).isEqualTo(100);
    }


    // ---- delivery margin

    @Test
    void theMarginKeepsEveryEntryInItsWindowLonger() {
        h.config("requests=2/1s", 0, 60_000, "keep", 250);
        h.acquire("a", 0, 0);
        h.acquire("b", 0, 100);
        // The refusal names the configured limit; the entry counts until admit + window + margin.
        assertThat(h.acquire("c", 0, 1_000)).containsExactly(0L, "window", 1_250_000L, "r:2:1000", 1_000_000L);
        assertThat(h.acquire("c", 0, 1_249).get(0)).isEqualTo(0L);
        assertThat(h.acquire("c", 0, 1_250).get(0)).isEqualTo(1L);
        List<Object> u = h.usage(1_300);
        assertThat(u.get(4)).isEqualTo(250L);
        assertThat(usedOf(u, "r:2:1000")).isEqualTo(2);
    }

    @Test
    void theMarginAppliesToTokenWindowsAndAChangeRebuildsTheirSums() {
        h.config("tokens=1000/10s", 0, 60_000, "keep");
        h.acquire("a", 600, 0);
        h.acquire("b", 300, 5_000);
        assertThat(usedOf(h.usage(10_100), "t:1000:10000")).isEqualTo(300);
        h.config("tokens=1000/10s", 0, 60_000, "keep", 500);
        // With the margin, a counts until 10.5 s again.
        assertThat(usedOf(h.usage(10_200), "t:1000:10000")).isEqualTo(900);
        assertThat(h.acquire("c", 200, 10_300)).startsWith(0L, "window", 10_500_000L, "t:1000:10000");
        assertThat(h.acquire("c", 200, 10_500).get(0)).isEqualTo(1L);
    }

    // ---- learning

    @Test
    void aProviderRefusalShrinksTheBindingLimitBelowWhatItHeldBefore() {
        h.config("requests=10/10s,tokens=100000/60s", 0, 60_000, "keep");
        for (int i = 0; i < 10; i++) {
            assertThat(h.acquire("a" + i, 10, i).get(0)).isEqualTo(1L);
        }
        // The 10th call (admitted at 9 ms) drew a 429: the provider holds about 9 per window; the
        // fleet keeps 95% of that (8), below what arrival jitter could have let through.
        List<Object> state = h.learn429(9_000, 9_990);
        assertThat(state).containsExactly("r:10:10000", 8L, "429", "t:100000:60000", 100000L, "");
        List<Object> u = h.usage(9_995);
        assertThat(u.subList(5, 9)).containsExactly("r:10:10000", 10L, 8L, "429");
        // Once the window has emptied, 8 fit, not 10.
        for (int i = 0; i < 8; i++) {
            assertThat(h.acquire("b" + i, 10, 10_010 + i).get(0)).isEqualTo(1L);
        }
        assertThat(h.acquire("b8", 10, 10_018)).startsWith(0L, "window", 20_010_000L, "r:10:10000");
    }

    @Test
    void anEchoOfAnEarlierShrinkChangesNothingAndTheFloorIsHalfTheConfiguredAmount() {
        h.config("requests=10/10s", 0, 60_000, "keep");
        for (int i = 0; i < 10; i++) {
            h.acquire("a" + i, 0, i);
        }
        assertThat(h.learn429(9_000, 20)).containsExactly("r:10:10000", 8L, "429");
        // Calls admitted before that shrink are echoes of the same overload.
        assertThat(h.learn429(3_000, 30)).containsExactly("r:10:10000", 8L, "429");
        // A call admitted after the shrink that still draws a 429 shrinks again, never below 50%.
        assertThat(h.acquire("late", 0, 10_009).get(0)).isEqualTo(1L);
        assertThat(h.learn429(10_009_000, 10_020)).containsExactly("r:10:10000", 5L, "429");
    }

    @Test
    void aLearnedAmountRecoversStepByStepWhileNoRefusalFollows() {
        h.config("requests=20/10s", 0, 60_000, "keep", 0);
        h.acquire("a", 0, 0);
        assertThat(h.learn429(0, 10)).containsExactly("r:20:10000", 10L, "429");
        // +5% of 20 (1) per recovery period: max(window + margin, 30 s) after one shrink.
        assertThat(h.usage(30_009).subList(5, 9)).containsExactly("r:20:10000", 0L, 10L, "429");
        assertThat(h.usage(30_010).subList(5, 9)).containsExactly("r:20:10000", 0L, 11L, "429");
        assertThat(h.usage(150_010).subList(5, 9)).containsExactly("r:20:10000", 0L, 15L, "429");
        assertThat(h.usage(300_009).subList(5, 9)).containsExactly("r:20:10000", 0L, 19L, "429");
        assertThat(h.usage(300_010).subList(5, 9)).containsExactly("r:20:10000", 0L, 20L, "");
    }

    @Test
    void aShrinkBeforeTheLimitRecoveredDoublesTheRecoveryPeriod() {
        h.config("requests=20/10s", 0, 60_000, "keep", 0);
        h.acquire("a", 0, 0);
        assertThat(h.learn429(0, 10)).containsExactly("r:20:10000", 10L, "429");
        assertThat(h.usage(60_010).subList(5, 9)).containsExactly("r:20:10000", 0L, 12L, "429");
        // Probing upward drew another 429 at 12: shrink again, and climb half as fast from there.
        for (int i = 0; i < 12; i++) {
            assertThat(h.acquire("b" + i, 0, 61_000 + i).get(0)).isEqualTo(1L);
        }
        assertThat(h.learn429(61_011_000, 61_020)).containsExactly("r:20:10000", 10L, "429");
        assertThat(h.usage(61_020 + 59_999).subList(5, 9)).containsExactly("r:20:10000", 0L, 10L, "429");
        assertThat(h.usage(61_020 + 60_000).subList(5, 9)).containsExactly("r:20:10000", 0L, 11L, "429");
    }

    @Test
    void providerHeadersCapLimitsOfTheSameResourceAndWindow() {
        h.config("tokens=1000/60s,tokens=5000/1h,requests=100/60s", 0, 60_000, "keep");
        assertThat(h.learnHeaders("t", 800, 59_000, 0))
                .containsExactly("t:1000:60000", 800L, "headers", "t:5000:3600000", 5000L, "", "r:100:60000", 100L, "");
        // A stated limit above the configured one never raises it; a later statement is followed.
        assertThat(h.learnHeaders("t", 900, 60_000, 10)).startsWith("t:1000:60000", 900L, "headers");
        assertThat(h.learnHeaders("t", 5000, 60_000, 20)).startsWith("t:1000:60000", 1000L, "");
    }

    @Test
    void aRequestLargerThanTheLearnedAmountIsAdmittedIntoAnEmptyWindow() {
        h.config("tokens=1000/10s", 0, 60_000, "keep");
        h.learnHeaders("t", 600, 10_000, 0);
        assertThat(h.acquire("big", 800, 10).get(0)).isEqualTo(1L);
        assertThat(h.acquire("small", 100, 20)).startsWith(0L, "window", 10_010_000L, "t:1000:10000");
        assertThat(h.acquire("small", 100, 10_010).get(0)).isEqualTo(1L);
        assertThat(h.acquire("big2", 800, 10_020)).startsWith(0L, "window", 20_010_000L, "t:1000:10000");
    }

    // ---- completion after the lease expired

    @Test
    void aCompletionAfterTheLeaseExpiredStillCorrectsTheWindowAndRecordsTheUsageOnce() {
        h.config("tokens=1000/10s", 1, 1_000, "actual");
        List<Object> a = h.acquire("a", 800, 400, 400, 0, false);
        long admitted = (Long) a.get(1);
        // a's holder stalled: its lease expired at 1 s and an acquire swept it.
        assertThat(h.acquire("b", 100, 2_000).get(0)).isEqualTo(1L);
        assertThat(h.redis().hget(h.keys.keys()[4], "a")).isNull();

        assertThat(h.complete("a", 100, 50, 2_500, admitted, 800, 400, 400, false)).containsExactly(0L, 150L, 100L, 50L);
        assertThat(usedOf(h.usage(2_600), "t:1000:10000")).isEqualTo(250);
        // A resend, or the same completion again, never counts twice.
        assertThat(h.complete("a", 100, 50, 2_700, admitted, 800, 400, 400, true)).containsExactly(0L, 150L, 100L, 50L);
        assertThat(h.complete("a", 100, 50, 2_800, admitted, 800, 400, 400, false)).containsExactly(0L, 150L, 100L, 50L);
        assertThat(usedOf(h.usage(2_900), "t:1000:10000")).isEqualTo(250);
        assertThat(h.redis().hget(h.keys.stats(), "completed")).isEqualTo("1");
        assertThat(h.redis().hget(h.keys.stats(), "actual_input_tokens")).isEqualTo("100");
        assertThat(h.acquire("c", 750, 3_000).get(0)).isEqualTo(1L);
    }

    @Test
    void aResendAfterACompletionThatCountedDoesNotCountAgain() {
        h.config("tokens=1000/10s", 1, 60_000, "keep");
        List<Object> a = h.acquire("a", 300, 150, 150, 0, false);
        assertThat(h.complete("a", 400, 200, 100, (Long) a.get(1), 300, 150, 150, false)).containsExactly(1L, 600L, 400L, 200L);
        assertThat(h.complete("a", 400, 200, 200, (Long) a.get(1), 300, 150, 150, true)).containsExactly(0L, 600L, 400L, 200L);
        assertThat(usedOf(h.usage(300), "t:1000:10000")).isEqualTo(600);
        assertThat(h.redis().hget(h.keys.stats(), "completed")).isEqualTo("1");
        assertThat(h.redis().hget(h.keys.stats(), "actual_output_tokens")).isEqualTo("200");
    }

    // ---- fair line

    @Test
    void aShortLivedWaiterNeverShortensTheLine() {
        h.config("requests=1/60s", 0, 60_000, "keep");
        h.acquire("fill", 0, 0, 0, 0, true);
        assertThat(h.acquire("patient", 0, 0, 0, 10, true, 30_000)).startsWith(0L, "window");
        assertThat(h.acquire("brief", 0, 0, 0, 20, true, 200)).startsWith(0L, "queued");
        assertThat(h.redis().pttl(h.keys.keys()[5])).isGreaterThan(25_000);
        assertThat(h.redis().pttl(h.keys.keys()[6])).isGreaterThan(25_000);
        // brief gave up long ago; patient still heads the line.
        assertThat(h.acquire("later", 0, 0, 0, 5_000, false)).startsWith(0L, "queued", 6_500_000L, "patient");
    }

    @Test
    void aTicketLapsesOneTicketTtlAfterItsLastAttemptWhateverItsRetryTime() {
        h.config("requests=1/60s", 0, 60_000, "keep");
        h.acquire("fill", 0, 0, 0, 0, true);
        // The head waits for a retry time a minute away, then crashes.
        assertThat(h.acquire("head", 0, 0, 0, 10, true)).startsWith(0L, "window", 60_000_000L);
        assertThat(h.acquire("next", 0, 0, 0, 20, true)).startsWith(0L, "queued");
        assertThat(h.acquire("next", 0, 0, 0, 3_009, true)).startsWith(0L, "queued");
        // One ticket TTL (3 s) after head's last attempt, next heads the line.
        assertThat(h.acquire("next", 0, 0, 0, 3_011, true)).startsWith(0L, "window", 60_000_000L);
    }

    @Test
    void loweringTheLeaseTtlNeverShortensTheLeaseKeysBelowALeaseStillHeld() {
        h.config("requests=100/1s", 100, 60_000, "keep");
        h.acquire("long", 0, 0);
        h.config("requests=100/1s", 100, 1_000, "keep");
        h.acquire("short", 0, 10);
        h.renew("short", 20);
        assertThat(h.redis().pttl(h.keys.keys()[3])).isGreaterThan(55_000);
        assertThat(h.redis().pttl(h.keys.keys()[4])).isGreaterThan(55_000);
    }

    @Test
    void aWaiterThatGivesUpWakesTheOldestLiveWaiterPastLapsedTickets() throws Exception {
        h.config("requests=1/60s", 0, 60_000, "keep");
        h.acquire("fill", 0, 0, 0, 0, true);
        h.acquire("head", 0, 0, 0, 10, true);
        h.acquire("lapsed", 0, 0, 0, 20, true, 100);
        h.acquire("live", 0, 0, 0, 30, true);
        java.util.concurrent.BlockingQueue<String> woken = new java.util.concurrent.LinkedBlockingQueue<>();
        io.lettuce.core.RedisClient c = io.lettuce.core.RedisClient.create(redis.uri());
        try (var sub = c.connectPubSub()) {
            sub.addListener(new io.lettuce.core.pubsub.RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    woken.add(message);
                }
            });
            sub.sync().subscribe(h.keys.channel());
            assertThat(h.cancel("head", 1_000)).isEqualTo(1L);
            assertThat(woken.poll(5, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("live");
        } finally {
            c.shutdown();
        }
        assertThat(h.redis().zrange(h.keys.keys()[5], 0, -1)).containsExactly("live");
    }

    @Test
    void aLogOfTheEarlierSortedSetFormIsReplacedAndItsWindowsStartOver() {
        h.config("tokens=1000/10s", 0, 60_000, "keep");
        // The earlier log form: a sorted set of "id|t|i|o|Ct|Ci|Co" members, sums in separate fields.
        h.redis().zadd(h.keys.keys()[1], 1_000_000, "old1|300|300|0|300|300|0");
        h.redis().hset(h.keys.keys()[2], java.util.Map.of("now", "1000000", "c10000", "-9000000", "t10000", "300",
                "i10000", "300", "o10000", "0"));
        assertThat(h.acquire("new", 900, 2_000).get(0)).isEqualTo(1L);
        assertThat(h.redis().type(h.keys.keys()[1])).isIn("none", "hash");
        assertThat(h.log()).extracting(e -> e.admitUs()).containsExactly(2_000_000L);
        assertThat(usedOf(h.usage(2_100), "t:1000:10000")).isEqualTo(900);
        assertThat(h.acquire("more", 200, 2_200)).startsWith(0L, "window", 12_000_000L);
    }

    // ---- batch admission, targets without leases, batch completion

    @Test
    void aBatchAdmitsThePrefixThatFitsEachRequestItsOwnLogEntry() {
        h.config("tokens=1000/10s,requests=10/10s", 0, 60_000, "keep");
        // 100 + 800 fit; 200 does not, so 50 behind it waits too (arrival order holds).
        List<Object> r = h.acquireBatch(1_000, false, "h:100:60:40", "a:800:500:300", "b:200:100:100", "c:50:25:25");

        assertThat(r).containsExactly(1L, 1_000_000L, 0L, 0L, 1L, 1_000_001L);
        var log = h.log();
        assertThat(log).extracting(e -> e.admitUs()).containsExactly(1_000_000L, 1_000_001L);
        assertThat(log.get(0).charge()).containsExactly(100, 60, 40);
        assertThat(log.get(1).charge()).containsExactly(800, 500, 300);
        assertThat(usedOf(h.usage(1_010), "t:1000:10000")).isEqualTo(900);
        assertThat(usedOf(h.usage(1_010), "r:10:10000")).isEqualTo(2);
        assertThat(h.redis().hget(h.keys.stats(), "admitted")).isEqualTo("2");
        // b was not admitted: alone it is refused until h leaves.
        assertThat(h.acquire("b", 200, 100, 100, 1_020, false)).startsWith(0L, "window", 11_000_000L);
    }

    @Test
    void aBatchStopsAtTheRequestWindowAndTheConcurrencyCap() {
        h.config("requests=3/10s", 0, 60_000, "keep");
        assertThat(h.acquireBatch(0, false, "h:0:0:0", "a:0:0:0", "b:0:0:0", "c:0:0:0"))
                .containsExactly(1L, 0L, 0L, 0L, 2L, 1L, 2L);
        assertThat(h.acquire("c", 0, 1_000)).startsWith(0L, "window", 10_000_000L);

        ScriptHarness capped = new ScriptHarness(redis.uri(), new Target("test", h.target.model() + "-capped"));
        try {
            capped.config("requests=100/10s", 2, 5_000, "keep");
            assertThat(capped.acquireBatch(0, false, "h:0:0:0", "a:0:0:0", "b:0:0:0"))
                    .containsExactly(1L, 0L, 5_000_000L, 0L, 1L, 1L);
            assertThat(capped.redis().zrange(capped.keys.keys()[3], 0, -1)).containsExactlyInAnyOrder("h", "a");
            assertThat(capped.redis().hkeys(capped.keys.keys()[4])).containsExactlyInAnyOrder("h", "a");
            assertThat(capped.acquire("b", 0, 100)).startsWith(0L, "concurrency", 5_000_000L);
        } finally {
            capped.close();
        }
    }

    @Test
    void aResentBatchReturnsTheSameAdmissionsAndCountsNothingTwice() {
        for (int cap : new int[] {0, 10}) {
            ScriptHarness t = new ScriptHarness(redis.uri(), new Target("test", h.target.model() + "-" + cap));
            try {
                t.config("tokens=1000/10s", cap, 60_000, "keep");
                List<Object> first = t.acquireBatch(1_000, false, "h:300:300:0", "a:300:300:0", "b:300:300:0",
                        "c:300:300:0");
                long expiry = cap == 0 ? 0L : 61_000_000L;
                assertThat(first).containsExactly(1L, 1_000_000L, expiry, 0L, 2L, 1_000_001L, 1_000_002L);

                List<Object> again = t.acquireBatch(1_500, false, "h:300:300:0", "a:300:300:0", "b:300:300:0",
                        "c:300:300:0");

                assertThat(again).containsExactly(1L, 1_000_000L, expiry, 1L, 2L, 1_000_001L, 1_000_002L);
                assertThat(t.log()).hasSize(3);
                assertThat(usedOf(t.usage(1_600), "t:1000:10000")).isEqualTo(900);
                assertThat(t.redis().hget(t.keys.stats(), "admitted")).isEqualTo("3");
            } finally {
                t.close();
            }
        }
    }

    @Test
    void withoutLeasesAProcessKeepsOneReplayRecordNotOnePerRequest() {
        h.config("tokens=1000/10s", 0, 60_000, "keep");
        List<Object> first = h.acquireBatch(1_000, false, "p1.h:300:300:0", "p1.a:300:300:0", "p1.b:300:300:0",
                "p1.c:300:300:0");
        assertThat(first).containsExactly(1L, 1_000_000L, 0L, 0L, 2L, 1_000_001L, 1_000_002L);
        // The process's last admitted call is its whole record: one field, not one per request.
        assertThat(h.redis().hkeys(h.keys.keys()[4])).containsExactly("@p1");

        // A resend after a lost reply gets the same answer and counts nothing twice.
        assertThat(h.acquireBatch(1_500, false, "p1.h:300:300:0", "p1.a:300:300:0", "p1.b:300:300:0",
                "p1.c:300:300:0")).containsExactly(1L, 1_000_000L, 0L, 1L, 2L, 1_000_001L, 1_000_002L);
        assertThat(h.log()).hasSize(3);
        assertThat(h.redis().hget(h.keys.stats(), "admitted")).isEqualTo("3");

        // Another process's call is its own; the next call of the first process replaces its record.
        assertThat(h.acquireBatch(11_000, false, "p2.x:100:100:0").get(0)).isEqualTo(1L);
        assertThat(h.acquireBatch(11_001, false, "p1.d:100:100:0").get(0)).isEqualTo(1L);
        assertThat(h.redis().hkeys(h.keys.keys()[4])).containsExactlyInAnyOrder("@p1", "@p2");
        assertThat(h.acquireBatch(11_002, false, "p1.d:100:100:0")).containsExactly(1L, 11_001_000L, 0L, 1L, 0L);
        assertThat(h.redis().hget(h.keys.stats(), "admitted")).isEqualTo("5");
    }

    @Test
    void aDuplicateOrAlreadyAdmittedIdEndsTheBatch() {
        h.config("requests=10/10s", 0, 60_000, "keep");
        h.acquire("old", 0, 0);
        assertThat(h.acquireBatch(10, false, "h:0:0:0", "a:0:0:0", "a:0:0:0", "b:0:0:0"))
                .containsExactly(1L, 10_000L, 0L, 0L, 1L, 10_001L);
        assertThat(h.acquireBatch(20, false, "x:0:0:0", "old:0:0:0", "y:0:0:0")).containsExactly(1L, 20_000L, 0L, 0L, 0L);
        assertThat(usedOf(h.usage(30), "r:10:10000")).isEqualTo(4);
    }

    @Test
    void onlyTheHeadOfABatchHoldsATicketAndItsAdmissionWakesTheNext() {
        h.config("requests=2/1s", 0, 60_000, "keep");
        h.acquire("fill", 0, 0, 0, 0, true);
        h.acquire("fill2", 0, 0, 0, 1, true);
        assertThat(h.acquireBatch(100, true, "h:0:0:0", "a:0:0:0", "b:0:0:0")).startsWith(0L, "window", 1_000_000L);
        assertThat(h.acquire("other", 0, 0, 0, 200, true)).startsWith(0L, "queued");
        assertThat(h.redis().zrange(h.keys.keys()[5], 0, -1)).containsExactly("h", "other");

        assertThat(h.acquireBatch(1_001, true, "h:0:0:0", "a:0:0:0", "b:0:0:0"))
                .containsExactly(1L, 1_001_000L, 0L, 0L, 1L, 1_001_001L);
        assertThat(h.redis().zrange(h.keys.keys()[5], 0, -1)).containsExactly("other");
        assertThat(h.acquire("b", 0, 0, 0, 1_002, false)).startsWith(0L, "queued");
    }

    @Test
    void aTargetWithoutACapTakesNoLeaseAndForgetsItsReplayRecordsWithTheLog() {
        h.config("requests=10/1s", 0, 60_000, "keep");
        assertThat(h.acquire("a", 0, 0)).containsExactly(1L, 0L, 0L, 0L, 0L);
        assertThat(h.redis().exists(h.keys.keys()[3])).isZero();
        assertThat(h.renew("a", 10)).isZero();
        assertThat(h.acquire("a", 0, 15)).containsExactly(1L, 0L, 0L, 1L, 0L);
        // A release without usage under keep changes nothing the windows count; once its call
        // completed an acquire is never sent again, so its replay record goes.
        assertThat(h.release("a", 20)).containsExactly(0L, 0L, 0L, 0L);
        assertThat(usedOf(h.usage(30), "r:10:1000")).isEqualTo(1);
        assertThat(h.redis().hexists(h.keys.keys()[4], "a")).isFalse();
        // A call never completed keeps its record until its entry leaves the log.
        assertThat(h.acquire("b", 0, 100).get(0)).isEqualTo(1L);
        assertThat(h.acquire("b", 0, 900)).containsExactly(1L, 100_000L, 0L, 1L, 0L);
        // The log keeps whole chunks of 16 entries: b's record goes with its chunk.
        for (int k = 0; k < 40; k++) {
            assertThat(h.acquire("c" + k, 0, 1_500 + k * 200L).get(0)).isEqualTo(1L);
        }
        assertThat(h.log().get(0).seq()).isGreaterThan(1);
        assertThat(h.log().get(h.log().size() - 1).admitUs()).isEqualTo(9_300_000L);
        assertThat(h.redis().hexists(h.keys.keys()[4], "b")).isFalse();
        assertThat(h.redis().hexists(h.keys.keys()[4], "c39")).isTrue();
        assertThat(h.redis().pttl(h.keys.keys()[4])).isGreaterThan(1_000);
    }

    @Test
    void aLogThatExpiredWhileItsStateLivedOnStartsAgainFromTheNewestChunk() {
        h.config("requests=20/1s", 0, 60_000, "keep");
        for (int k = 0; k < 40; k++) {
            assertThat(h.acquire("a" + k, 0, k * 50L).get(0)).isEqualTo(1L);
        }
        // The log key expires (its TTL is the longest window plus a little); the state outlives it.
        h.redis().del(h.keys.keys()[1]);

        assertThat(h.acquire("b", 0, 10_000).get(0)).isEqualTo(1L);
        assertThat(usedOf(h.usage(10_010), "r:20:1000")).isEqualTo(1);
        // Only the newest chunk (kept in the state) and the new entry remain; full chunks go to the
        // log again, which gets its TTL back.
        assertThat(h.log()).extracting(e -> e.seq()).startsWith(32L).endsWith(40L);
        for (int k = 0; k < 40; k++) {
            assertThat(h.acquire("c" + k, 0, 10_100 + k * 50L).get(0)).isEqualTo(1L);
        }
        assertThat(usedOf(h.usage(12_050), "r:20:1000")).isEqualTo(20);
        assertThat(h.redis().pttl(h.keys.keys()[1])).isPositive();
    }

    @Test
    void theLogAndStateTtlsCoverTheLongestWindowAndOnlyMoveLater() {
        h.config("requests=100/10s", 0, 60_000, "keep");
        // The newest 16 entries live in the state; the 17th moves the first chunk to the log.
        for (int k = 0; k < 17; k++) {
            h.acquire("a" + k, 0, 0);
        }
        assertThat(h.redis().pttl(h.keys.keys()[1])).isBetween(11_000L, 15_000L);
        assertThat(h.redis().pttl(h.keys.keys()[2])).isGreaterThan(11_000L);
        h.redis().pexpire(h.keys.keys()[1], 100_000);
        h.acquire("b", 0, 10);
        assertThat(h.redis().pttl(h.keys.keys()[1])).isGreaterThan(90_000L);
        // A longer window: the next admission extends both keys at once.
        h.config("requests=100/300s", 0, 60_000, "keep");
        h.acquire("c", 0, 20);
        assertThat(h.redis().pttl(h.keys.keys()[1])).isGreaterThan(300_000L);
        assertThat(h.redis().pttl(h.keys.keys()[2])).isGreaterThan(300_000L);
    }

    @Test
    void aBatchCompletionCompletesEachRequestOnceAndCorrectsTheWindows() {
        h.config("tokens=1000/10s", 0, 60_000, "actual");
        List<Object> r = h.acquireBatch(0, false, "a:300:200:100", "b:300:200:100", "c:300:200:100");
        assertThat(r).containsExactly(1L, 0L, 0L, 0L, 2L, 1L, 2L);

        List<List<String>> batch = List.of(
                ScriptHarness.completion("a", true, 50, 50, 0, 300, 200, 100, false),
                ScriptHarness.completion("b", true, 400, 100, 1, 300, 200, 100, false),
                ScriptHarness.completion("a", true, 50, 50, 0, 300, 200, 100, false),
                ScriptHarness.completion("c", false, 0, 0, 2, 300, 200, 100, false),
                ScriptHarness.completion("gone", true, 10, 10, 77, 20, 10, 10, true));
        List<Object> done = h.completeBatch(100, batch);

        assertThat(done).containsExactly(0L, 100L, 50L, 50L, 0L, 500L, 400L, 100L, 0L, 100L, 50L, 50L,
                0L, 300L, 200L, 100L, 0L, 0L, 0L, 0L);
        assertThat(usedOf(h.usage(200), "t:1000:10000")).isEqualTo(900);
        assertThat(h.redis().hget(h.keys.stats(), "completed")).isEqualTo("3");
        assertThat(h.redis().hget(h.keys.stats(), "actual_input_tokens")).isEqualTo("450");
        // The same batch again (a resend after a lost reply) counts nothing twice.
        assertThat(h.completeBatch(300, batch)).isEqualTo(done);
        assertThat(usedOf(h.usage(400), "t:1000:10000")).isEqualTo(900);
        assertThat(h.redis().hget(h.keys.stats(), "completed")).isEqualTo("3");
        assertThat(h.acquire("d", 100, 500).get(0)).isEqualTo(1L);
        assertThat(h.acquire("e", 1, 600)).startsWith(0L, "window");
    }

    @Test
    void aBatchCompletionReleasesLeasesAndWakesTheLineOnce() {
        h.config("requests=100/10s", 2, 60_000, "keep");
        h.acquireBatch(0, false, "a:0:0:0", "b:0:0:0");
        assertThat(h.acquire("w", 0, 0, 0, 10, true)).startsWith(0L, "concurrency");
        List<Object> done = h.completeBatch(20, List.of(
                ScriptHarness.completion("a", false, 0, 0, 0, 0, 0, 0, false),
                ScriptHarness.completion("b", false, 0, 0, 1, 0, 0, 0, false)));
        assertThat(done).containsExactly(1L, 0L, 0L, 0L, 1L, 0L, 0L, 0L);
        assertThat(h.redis().zcard(h.keys.keys()[3])).isZero();
        assertThat(h.redis().hlen(h.keys.keys()[4])).isZero();
        assertThat(h.acquire("w", 0, 0, 0, 30, true)).containsExactly(1L, 30_000L, 60_030_000L, 0L, 0L);
    }

    private static long usedOf(List<Object> usage, String spec) {
        for (int i = 5; i + 3 < usage.size(); i += 4) {
            if (spec.equals(usage.get(i))) {
                return (Long) usage.get(i + 1);
            }
        }
        throw new AssertionError("no limit " + spec + " in " + usage);
    }
}
