package io.llmlimiter.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.FairShare;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TenantShare;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The fair share of acquire.lua (tenants.lua), driven with an explicit clock: every round one
 * request frees, every backlogged tenant's waiting request asks, and exactly one is admitted.
 */
@Tag("redis-features")
@WithRedis
class FairShareScriptsTest {

    private static final AtomicInteger SEQ = new AtomicInteger();
    private final RedisProcess redis;
    private ScriptHarness h;
    /** Each tenant's waiting request id (kept until admitted, so it keeps its ticket). */
    private final Map<String, String> pending = new LinkedHashMap<>();
    private long nowMs = 1_000_000;
    private int ids;

    FairShareScriptsTest(RedisProcess redis) {
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

    private void config(String limits, FairShare share) {
        h.config(LimitConfig.builder(h.target).limits(limits).deliveryMargin(Duration.ZERO).fairShare(share).build());
    }

    /**
     * One round per second: the given tenants (tenant -> class) each ask with their waiting request
     * before the budget frees (so all wait in line), then again once it has freed, in an order that
     * turns every round. Returns how many each got in these rounds.
     */
    private Map<String, Integer> rounds(int n, long tokens, Map<String, String> who) {
        return rounds(n, t -> tokens, who);
    }

    /** Each tenant's admission times (Redis microseconds, as acquire replied), in order. */
    private final Map<String, List<Long>> admissions = new LinkedHashMap<>();

    private Map<String, Integer> rounds(int n, java.util.function.ToLongFunction<String> tokens, Map<String, String> who) {
        Map<String, Integer> got = new LinkedHashMap<>();
        who.keySet().forEach(t -> got.put(t, 0));
        List<String> order = new java.util.ArrayList<>(new java.util.TreeSet<>(who.keySet()));
        for (int i = 0; i < n; i++) {
            java.util.Collections.rotate(order, 1);
            for (long at : new long[] {nowMs + 500, nowMs + 1000}) {
                for (String t : order) {
                    String id = pending.computeIfAbsent(t, x -> "p" + (ids++) + "." + x);
                    List<Object> r = h.acquireAs(id, tokens.applyAsLong(t), at, true, t, who.get(t));
                    if ((Long) r.get(0) == 1L) {
                        pending.remove(t);
                        got.merge(t, 1, Integer::sum);
                        admissions.computeIfAbsent(t, x -> new java.util.ArrayList<>()).add((Long) r.get(1));
                    }
                }
            }
            nowMs += 1000;
        }
        return got;
    }

    @Test
    void unnamedCallersOfOldCallSitesWaitInArrivalOrderAsBefore() {
        config("requests=1/1s", FairShare.builder().tenant("other", TenantShare.weight(10)).build());
        assertThat(h.acquire("p0.0", 10, 10, 10, nowMs, true).get(0)).isEqualTo(1L);
        // Three unnamed callers (no tenant or class in the call, as an earlier client sends) in three processes line up.
        for (String id : List.of("p1.1", "p2.1", "p3.1")) {
            assertThat(h.acquire(id, 10, 10, 10, nowMs + 100, true).get(0)).isEqualTo(0L);
        }
        List<String> order = new java.util.ArrayList<>();
        for (int round = 1; round <= 3; round++) {
            long at = nowMs + 1000L * round;
            // The later ones ask first each round: only the oldest waiting is admitted.
            for (String id : List.of("p3.1", "p2.1", "p1.1")) {
                if (!order.contains(id) && (Long) h.acquire(id, 10, 10, 10, at, true).get(0) == 1L) {
                    order.add(id);
                }
            }
        }
        assertThat(order).containsExactly("p1.1", "p2.1", "p3.1");
    }

    @Test
    void backloggedTenantsAreAdmittedInProportionToTheirWeights() {
        config("requests=1/1s", FairShare.builder().tenant("a", TenantShare.weight(1)).tenant("b", TenantShare.weight(2))
                .tenant("c", TenantShare.weight(5)).build());

        Map<String, Integer> got = rounds(80, 100, Map.of("a", "batch", "b", "batch", "c", "batch"));

        assertThat(got.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(80);
        assertThat(got.get("a")).isBetween(9, 11);
        assertThat(got.get("b")).isBetween(19, 21);
        assertThat(got.get("c")).isBetween(49, 51);
    }

    @Test
    void weightsCountTokensNotRequests() {
        config("requests=1/1s", FairShare.builder().build());

        Map<String, Integer> got = rounds(60, t -> t.equals("big") ? 300 : 100, Map.of("big", "batch", "small", "batch"));

        // Equal weights: the tenant asking three times as much per call gets a third as many calls.
        assertThat(got.get("small")).isBetween(44, 46);
        assertThat(got.get("big")).isBetween(14, 16);
    }

    @Test
    void aTenantBackFromIdleStartsLevelWithNoBankedCredit() {
        config("requests=1/1s", FairShare.builder().build());
        rounds(10, 100, Map.of("a", "batch", "b", "batch"));
        rounds(40, 100, Map.of("a", "batch"));

        Map<String, Integer> back = rounds(20, 100, Map.of("a", "batch", "b", "batch"));

        // Back at once (within the first two rounds it is admitted), and not more than its share.
        assertThat(back.get("b")).isBetween(9, 11);
        assertThat(back.get("a")).isBetween(9, 11);
    }

    @Test
    void anInteractiveCallGoesBeforeWaitingBatchCallsAndBatchStillMovesWithAging() {
        config("requests=1/1s", FairShare.builder().aging(Duration.ofSeconds(5)).build());
        rounds(5, 100, Map.of("bulk", "batch", "bulk2", "batch"));

        // The budget frees once a round: the interactive caller takes it the round it asks.
        nowMs += 1000;
        List<Object> r = h.acquireAs("i.1", 100, nowMs, true, "person", "interactive");
        assertThat(r.get(0)).isEqualTo(1L);

        // A steady interactive demand: batch still gets a call about every aging period (5 s).
        Map<String, Integer> got = rounds(30, 100, Map.of("person", "interactive", "bulk", "batch"));
        assertThat(got.get("bulk")).isBetween(4, 6);
        assertThat(got.get("person")).isBetween(24, 26);
    }

    @Test
    void aCapIsNeverExceededAndItsShareGoesToOthers() {
        config("requests=10/10s", FairShare.builder().tenant("capped", TenantShare.weight(100).cap(0.3)).build());

        Map<String, Integer> got = rounds(100, 100, Map.of("capped", "batch", "other", "batch"));

        // 10 per 10 s for 100 s: 100 admitted, at most 3 per 10 s window to the capped tenant.
        assertThat(got.get("capped") + got.get("other")).isEqualTo(100);
        assertThat(got.get("capped")).isBetween(25, 30);
        List<Long> capped = admissions.get("capped");
        assertThat(capped).hasSize(got.get("capped"));
        for (int i = 3; i < capped.size(); i++) {
            assertThat(capped.get(i) - capped.get(i - 3)).isGreaterThanOrEqualTo(10_000_000L);
        }
    }

    @Test
    void aReservedMinimumHoldsUnderAFloodOfHeavierTenants() {
        config("requests=10/10s", FairShare.builder().tenant("small", TenantShare.weight(1).reserve(0.4))
                .tenant("flood", TenantShare.weight(50)).tenant("flood2", TenantShare.weight(50)).build());

        Map<String, Integer> got = rounds(100, 100, Map.of("small", "background", "flood", "interactive",
                "flood2", "interactive"));

        // Without the reserve a background tenant of weight 1 gets next to nothing; with it, 4 of each 10.
        assertThat(got.get("small")).isBetween(38, 42);
    }

    @Test
    void unnamedTenantsPastTheCardinalityCapShareOneCounter() {
        config("requests=100/1s", FairShare.builder().maxTenants(2).build());
        for (int i = 0; i < 5; i++) {
            nowMs += 1;
            assertThat(h.acquireAs("x" + i, 10, nowMs, false, "user" + i, "interactive").get(0)).isEqualTo(1L);
        }

        Map<String, String> state = h.redis().hgetall(h.keys.tenants());
        assertThat(state).containsKeys("n:user0", "n:user1", "n:other").doesNotContainKeys("n:user2", "n:user3");
        assertThat(state.get("n:other")).isEqualTo("3");
    }

    /**
     * Across processes the line moves by wake-ups alone: after each admission the script names the
     * next ticket over pub/sub, and that ticket, asking first once the budget frees, is admitted.
     * Every tenant has a ticket whose spread is almost a whole charge (the hardest to keep current)
     * in one process and an ordinary one in another; all waiting tickets check in between rounds.
     */
    @Test
    void theTicketWokenAfterEachAdmissionIsAdmittedNextAcrossProcesses() throws Exception {
        config("requests=1/1s", FairShare.builder().tenant("a", TenantShare.weight(1)).tenant("b", TenantShare.weight(2))
                .tenant("c", TenantShare.weight(5)).build());
        java.util.concurrent.BlockingQueue<String> woken = new java.util.concurrent.LinkedBlockingQueue<>();
        try (io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, String> sub = h.client.connectPubSub()) {
            sub.addListener(new io.lettuce.core.pubsub.RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    woken.add(message);
                }
            });
            sub.sync().subscribe(h.keys.channel());
            // process -> its waiting request id; processes "<tenant>0" send ids of a spread of 0.999 charge.
            Map<String, String> waiting = new LinkedHashMap<>();
            for (String t : List.of("a", "b", "c")) {
                waiting.put(t + "0", spreadId(t + "0", true));
                waiting.put(t + "1", spreadId(t + "1", false));
            }
            Map<String, Integer> got = new LinkedHashMap<>();
            List<String> order = new java.util.ArrayList<>(waiting.keySet());
            String next = null;
            for (int round = 0; round < 60; round++) {
                nowMs += 1000;
                if (next != null) {
                    String proc = process(waiting, next);
                    List<Object> r = h.acquireAs(next, 100, nowMs + 10, true, proc.substring(0, 1), "batch");
                    assertThat(r.get(0)).as("round %d: %s, woken after the last admission, asks first: %s", round, next, r)
                            .isEqualTo(1L);
                    got.merge(proc.substring(0, 1), 1, Integer::sum);
                    waiting.put(proc, spreadId(proc, proc.endsWith("0")));
                    next = woken.poll(10, java.util.concurrent.TimeUnit.SECONDS);
                    assertThat(next).as("round %d: the next ticket is woken", round).isNotNull();
                }
                // Every process asks (joining, or checking in), in an order that turns every round.
                java.util.Collections.rotate(order, 1);
                for (String proc : order) {
                    List<Object> r = h.acquireAs(waiting.get(proc), 100, nowMs + 11 + order.indexOf(proc), true,
                            proc.substring(0, 1), "batch");
                    if ((Long) r.get(0) == 1L) {
                        assertThat(round).as("only the first call of the test finds the budget free").isZero();
                        got.merge(proc.substring(0, 1), 1, Integer::sum);
                        waiting.put(proc, spreadId(proc, proc.endsWith("0")));
                    } else if ("window".equals(r.get(1))) {
                        // Only the head is told the window's time: it wakes by itself then.
                        next = waiting.get(proc);
                    }
                    // A check-in that changes the head wakes the new one.
                    h.redis().publish(h.keys.channel(), "mark");
                    for (String m = woken.poll(10, java.util.concurrent.TimeUnit.SECONDS); !"mark".equals(m);
                         m = woken.poll(10, java.util.concurrent.TimeUnit.SECONDS)) {
                        assertThat(m).as("round %d: wake-ups arrive", round).isNotNull();
                        next = m;
                    }
                }
                assertThat(next).as("round %d: a ticket was woken", round).isNotNull();
                if (round == 0) {
                    // The first admission came late in the round: a window after it, not before.
                    nowMs += 100;
                }
            }
            assertThat(got.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(60);
            assertThat(got.get("c")).isBetween(35, 40);
        }
    }

    private long served(String process, long seq, Object... tenantsAndTokens) {
        String[] args = new String[3 + tenantsAndTokens.length];
        args[0] = process;
        args[1] = Long.toString(seq);
        args[2] = Integer.toString(tenantsAndTokens.length / 2);
        for (int i = 0; i < tenantsAndTokens.length; i++) {
            args[3 + i] = tenantsAndTokens[i].toString();
        }
        return h.runner.<Long>run(io.llmlimiter.scripts.LuaScript.SERVED, io.lettuce.core.ScriptOutputType.INTEGER,
                h.keys, args).join();
    }

    @Test
    void servedTokensCorrectTheCountersOnceAndDecideWhoIsNext() {
        config("requests=3/1s", FairShare.builder().tenant("b", TenantShare.weight(2)).build());
        assertThat(h.acquireAs("pb.1", 100, nowMs, true, "b", "batch").get(0)).isEqualTo(1L);
        assertThat(h.acquireAs("pa.1", 100, nowMs + 1, true, "a", "batch").get(0)).isEqualTo(1L);
        assertThat(h.acquireAs("pa.2", 100, nowMs + 2, true, "a", "batch").get(0)).isEqualTo(1L);
        Map<String, String> before = h.redis().hgetall(h.keys.tenants());
        double va = Double.parseDouble(before.get("v:a"));
        double vb = Double.parseDouble(before.get("v:b"));
        // Charged by the estimates, a is ahead of b; a's two calls used 10 tokens each, b's 160.
        assertThat(va).isGreaterThan(vb + 100);

        assertThat(served("p1", 1, "a", -180, "b", 60)).isEqualTo(1L);
        Map<String, String> after = h.redis().hgetall(h.keys.tenants());
        assertThat(Double.parseDouble(after.get("v:a"))).isEqualTo(va - 180);
        assertThat(Double.parseDouble(after.get("v:b"))).as("b's weight is 2").isEqualTo(vb + 30);
        assertThat(after).containsEntry("a:a", "20").containsEntry("a:b", "160");

        // A resend of the same send, or an older one, counts nothing; the next one and another process's do.
        assertThat(served("p1", 1, "a", -180, "b", 60)).isZero();
        assertThat(served("p1", 0, "a", -5)).isZero();
        assertThat(served("p1", 2, "a", 3)).isEqualTo(1L);
        assertThat(served("p2", 1, "a", 2)).isEqualTo(1L);
        after = h.redis().hgetall(h.keys.tenants());
        assertThat(after).containsEntry("a:a", "25").containsEntry("a:b", "160");
        assertThat(Double.parseDouble(after.get("v:a"))).isEqualTo(va - 175);

        // Both wait for the full window: a, served less, goes first though it was charged more.
        assertThat(h.acquireAs("pb.2", 100, nowMs + 500, true, "b", "batch").get(0)).isEqualTo(0L);
        assertThat(h.acquireAs("pa.3", 100, nowMs + 501, true, "a", "batch").get(0)).isEqualTo(0L);
        assertThat(h.acquireAs("pb.2", 100, nowMs + 1010, true, "b", "batch").get(1)).isEqualTo("queued");
        assertThat(h.acquireAs("pa.3", 100, nowMs + 1011, true, "a", "batch").get(0)).isEqualTo(1L);
    }

    /** A blocking head of a tenant with further requests of the same tenant ({@code ids[0]} the head, 100 tokens each). */
    private List<Object> batchAs(long atMs, String tenant, String... ids) {
        List<String> args = new java.util.ArrayList<>(List.of(ids[0], "100", "100", "100", Long.toString(atMs * 1000),
                "1", "3000", h.keys.channel(), Integer.toString(ids.length - 1)));
        for (int j = 1; j < ids.length; j++) {
            args.addAll(List.of(ids[j], "100", "100", "100"));
        }
        for (int j = 0; j < ids.length; j++) {
            args.add("0");
        }
        args.addAll(List.of(tenant, "batch"));
        return h.runner.<List<Object>>run(io.llmlimiter.scripts.LuaScript.ACQUIRE, io.lettuce.core.ScriptOutputType.MULTI,
                h.keys, args.toArray(String[]::new)).join();
    }

    @Test
    void whileOthersWaitRidersGoForAQuantumAndTheFirstLeftOutTakesATicket() {
        config("requests=10/1s", FairShare.builder().build());
        assertThat(h.acquireAs("pa.1", 100, nowMs, true, "a", "batch").get(0)).isEqualTo(1L);
        for (int i = 1; i <= 4; i++) {
            assertThat(h.acquireAs("pb." + i, 100, nowMs, true, "b", "batch").get(0)).isEqualTo(1L);
        }
        for (int i = 1; i <= 5; i++) {
            assertThat(h.acquireAs("pc." + i, 100, nowMs, true, "c", "batch").get(0)).isEqualTo(1L);
        }
        // b waits with its counter at 400; a (at 100) comes first once the window frees, and its
        // further requests ride while a's counter stays within 4 charges of b's: up to 800.
        assertThat(h.acquireAs("pb.5", 100, nowMs + 10, true, "b", "batch").get(1)).isEqualTo("window");
        List<Object> r = batchAs(nowMs + 1001, "a", "pa.2", "pa.3", "pa.4", "pa.5", "pa.6", "pa.7", "pa.8", "pa.9",
                "pa.10");
        assertThat(r.get(0)).isEqualTo(1L);
        assertThat(r.get(4)).as("riders within the quantum").isEqualTo(6L);
        assertThat(r).hasSize(12);
        assertThat(r.get(11)).as("the first left out holds a ticket").isEqualTo(1L);
        String q = h.keys.keys()[5];
        assertThat(h.redis().zscore(q, "pa.9")).isNotNull();
        assertThat(h.redis().zscore(q, "pa.2")).isNull();
        assertThat(h.redis().hget(h.keys.tenants(), "k:pa.9")).startsWith("2|a|");
        // b, served less now, is next; pa.9 waits behind it with its ticket.
        assertThat(h.acquireAs("pa.9", 100, nowMs + 1002, true, "a", "batch").get(1)).isEqualTo("queued");
        assertThat(h.acquireAs("pb.5", 100, nowMs + 1003, true, "b", "batch").get(0)).isEqualTo(1L);
        // Nobody waits but a: its whole batch rides, as on any target.
        List<Object> alone = batchAs(nowMs + 1004, "a", "pa.9", "pa.10");
        assertThat(alone.get(0)).isEqualTo(1L);
        assertThat(alone).hasSize(6);
        assertThat(alone.get(4)).isEqualTo(1L);
    }

    @Test
    void servedTokensOfATargetWithoutFairShareStateChangeNothing() {
        config("requests=2/1s", FairShare.builder().build());
        assertThat(served("p1", 1, "a", 50)).isZero();
        assertThat(h.redis().exists(h.keys.tenants())).isZero();
    }

    @Test
    void aWaiterRefusedByADollarBudgetLeavesTheLineWithItsTenantRecordAndTheNextIsAdmitted() {
        config("requests=1/1s,usd=1/day", FairShare.builder().build());
        String q = h.keys.keys()[5];
        assertThat(h.acquireAs("p1.a", 10, 400_000, nowMs, true, "a", "batch").get(0)).isEqualTo(1L);
        // Within the budget but not the window: both wait in line.
        assertThat(h.acquireAs("p2.b", 10, 400_000, nowMs + 100, true, "b", "batch").get(0)).isEqualTo(0L);
        assertThat(h.acquireAs("p3.c", 10, 100_000, nowMs + 200, true, "c", "batch").get(0)).isEqualTo(0L);
        assertThat(h.redis().zscore(q, "p2.b")).isNotNull();
        assertThat(h.redis().hexists(h.keys.tenants(), "k:p2.b")).isTrue();

        // The budget is lowered: b's call no longer fits and is refused at once.
        config("requests=1/1s,usd=0.5/day", FairShare.builder().build());
        List<Object> refused = h.acquireAs("p2.b", 10, 400_000, nowMs + 1000, true, "b", "batch");
        assertThat(refused.get(1)).isEqualTo("budget");

        assertThat(h.redis().zscore(q, "p2.b")).isNull();
        assertThat(h.redis().hexists(h.keys.tenants(), "k:p2.b")).as("the refused waiter's tenant record").isFalse();
        assertThat(h.acquireAs("p3.c", 10, 100_000, nowMs + 1001, true, "c", "batch").get(0)).isEqualTo(1L);
    }

    private static String process(Map<String, String> waiting, String id) {
        return waiting.entrySet().stream().filter(e -> e.getValue().equals(id)).map(Map.Entry::getKey).findFirst()
                .orElseThrow(() -> new AssertionError(id + " is no process's waiting request"));
    }

    /**
     * A request id of the process; with {@code almostWhole}, one whose spread in tenants.lua is
     * 0.999 of its charge, else one whose spread is under half of it.
     */
    private String spreadId(String process, boolean almostWhole) {
        while (true) {
            String id = "p" + process + "." + (ids++);
            int n = id.length();
            int h = id.charAt(n - 1) * 7919 + id.charAt(n - 2) * 104729 + id.charAt(n - 3) * 31;
            if (almostWhole ? h % 1000 == 999 : h % 1000 < 500) {
                return id;
            }
        }
    }
}
