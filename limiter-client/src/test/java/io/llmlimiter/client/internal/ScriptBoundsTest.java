package io.llmlimiter.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.ScoredValue;
import io.llmlimiter.client.Target;
import io.llmlimiter.scripts.RequestLog;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.RequestLogs;
import io.llmlimiter.testing.WithRedis;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The scripts stay correct whatever callers leave in Redis: many expired leases, abandoned
 * tickets and in-window entries at once, and token windows that stay exact under corrections
 * (checked against a brute-force recomputation from the log).
 */
@WithRedis
class ScriptBoundsTest {

    private static final AtomicInteger SEQ = new AtomicInteger();
    private final RedisProcess redis;
    private ScriptHarness h;

    ScriptBoundsTest(RedisProcess redis) {
        this.redis = redis;
    }

    @BeforeEach
    void connect(TestInfo info) {
        h = new ScriptHarness(redis.uri(), new Target("bounds", info.getTestMethod().orElseThrow().getName() + SEQ.incrementAndGet()));
    }

    @AfterEach
    void close() {
        h.close();
    }

    /** Fills the log with n entries of the given tokens, one every stepUs from startUs. */
    private void fillLog(int n, long startUs, long stepUs, long tokens) {
        RequestLog.Builder log = new RequestLog.Builder();
        for (int k = 0; k < n; k++) {
            log.add(startUs + k * stepUs, tokens, tokens, 0);
        }
        RequestLogs.fill(h.client, h.target.toString(), log);
    }

    @Test
    void tenThousandLeasesExpiringAtOnceNeverBlockTheTarget() {
        h.config("requests=1000000/1h", 5, 1_000, "keep");
        Map<String, String> held = new HashMap<>();
        List<ScoredValue<String>> leases = new ArrayList<>();
        for (int k = 0; k < 10_000; k++) {
            held.put("dead" + k, "0|0|0|0");
            leases.add(ScoredValue.just(1_000_000, "dead" + k));
        }
        @SuppressWarnings("unchecked")
        ScoredValue<String>[] values = leases.toArray(new ScoredValue[0]);
        h.redis().zadd(h.keys.keys()[3], (Object[]) values);
        h.redis().hset(h.keys.keys()[4], held);

        // All 10k expired at 1 s: none counts against the cap of 5, every script answers.
        for (int k = 0; k < 5; k++) {
            assertThat(h.acquire("live" + k, 0, 2_000 + k).get(0)).isEqualTo(1L);
        }
        assertThat(h.acquire("sixth", 0, 2_010)).startsWith(0L, "concurrency", 3_000_000L);
        assertThat(h.usage(2_020).subList(1, 3)).containsExactly(5L, 0L);
        assertThat(h.renew("live0", 2_030)).isEqualTo(3_030_000L);
        assertThat(h.renew("dead7", 2_030)).isEqualTo(0L);
        assertThat(h.release("live1", 2_040).get(0)).isEqualTo(1L);
        assertThat(h.acquire("sixth", 0, 2_050).get(0)).isEqualTo(1L);
        // The expired ones leave in bounded batches as acquires come.
        assertThat(h.redis().zcard(h.keys.keys()[3])).isLessThan(10_006);
    }

    @Test
    void aBatchAmongTenThousandExpiredLeasesFillsTheCapExactly() {
        h.config("requests=1000000/1h", 5, 1_000, "keep");
        Map<String, String> held = new HashMap<>();
        List<ScoredValue<String>> leases = new ArrayList<>();
        for (int k = 0; k < 10_000; k++) {
            held.put("dead" + k, "0|0|0|0");
            leases.add(ScoredValue.just(1_000_000, "dead" + k));
        }
        @SuppressWarnings("unchecked")
        ScoredValue<String>[] values = leases.toArray(new ScoredValue[0]);
        h.redis().zadd(h.keys.keys()[3], (Object[]) values);
        h.redis().hset(h.keys.keys()[4], held);

        String[] batch = new String[8];
        for (int j = 0; j < batch.length; j++) {
            batch[j] = "live" + j + ":0:0:0";
        }
        // None of the 10k expired leases counts: the head and four more fill the cap of 5.
        assertThat(h.acquireBatch(2_000, false, batch).subList(0, 5)).containsExactly(1L, 2_000_000L, 3_000_000L, 0L, 4L);
        assertThat(h.usage(2_010).get(1)).isEqualTo(5L);
        assertThat(h.acquire("sixth", 0, 2_020)).startsWith(0L, "concurrency", 3_000_000L);
        // A resend of the batch returns the same five and takes nothing more.
        assertThat(h.acquireBatch(2_030, false, batch).subList(0, 5)).containsExactly(1L, 2_000_000L, 3_000_000L, 1L, 4L);
        assertThat(h.usage(2_040).get(1)).isEqualTo(5L);
    }

    @Test
    void aHundredThousandAbandonedTicketsAreClearedAndTheLiveWaiterGoesFirst() {
        h.config("requests=100/1s", 0, 60_000, "keep");
        List<ScoredValue<String>> q = new ArrayList<>();
        List<ScoredValue<String>> qx = new ArrayList<>();
        for (int k = 0; k < 100_000; k++) {
            q.add(ScoredValue.just(k + 1, "gone" + k));
            qx.add(ScoredValue.just(500_000, "gone" + k));
        }
        for (int from = 0; from < q.size(); from += 20_000) {
            @SuppressWarnings("unchecked")
            ScoredValue<String>[] a = q.subList(from, from + 20_000).toArray(new ScoredValue[0]);
            @SuppressWarnings("unchecked")
            ScoredValue<String>[] b = qx.subList(from, from + 20_000).toArray(new ScoredValue[0]);
            h.redis().zadd(h.keys.keys()[5], (Object[]) a);
            h.redis().zadd(h.keys.keys()[6], (Object[]) b);
        }
        assertThat(h.usage(1_000).get(2)).isEqualTo(0L);
        // A waiter behind them: the line is cleared in bounded steps, each answered "retry now".
        List<Object> r = h.acquire("waiter", 0, 0, 0, 1_000, true);
        int attempts = 1;
        while ((Long) r.get(0) == 0L) {
            assertThat(r).startsWith(0L, "queued", 1_000_000L);
            r = h.acquire("waiter", 0, 0, 0, 1_000, true);
            attempts++;
        }
        assertThat(attempts).isBetween(2, 1_000);
        assertThat(h.redis().zcard(h.keys.keys()[5])).isZero();

        // A hundred thousand live tickets: a newcomer is queued behind the oldest at once.
        q.clear();
        qx.clear();
        for (int k = 0; k < 100_000; k++) {
            q.add(ScoredValue.just(k + 1, "w" + k));
            qx.add(ScoredValue.just(60_000_000, "w" + k));
        }
        for (int from = 0; from < q.size(); from += 20_000) {
            @SuppressWarnings("unchecked")
            ScoredValue<String>[] a = q.subList(from, from + 20_000).toArray(new ScoredValue[0]);
            @SuppressWarnings("unchecked")
            ScoredValue<String>[] b = qx.subList(from, from + 20_000).toArray(new ScoredValue[0]);
            h.redis().zadd(h.keys.keys()[5], (Object[]) a);
            h.redis().zadd(h.keys.keys()[6], (Object[]) b);
        }
        assertThat(h.acquire("new", 0, 0, 0, 2_000, false)).startsWith(0L, "queued", 3_500_000L, "w0");
        // The head of a hundred thousand live tickets admits its batch; only its ticket leaves.
        assertThat(h.acquireBatch(2_000, true, "w0:0:0:0", "x1:0:0:0", "x2:0:0:0"))
                .containsExactly(1L, 2_000_000L, 0L, 0L, 2L, 2_000_001L, 2_000_002L);
        assertThat(h.usage(2_100).get(2)).isEqualTo(99_999L);
        assertThat(h.acquire("new", 0, 0, 0, 2_200, false)).startsWith(0L, "queued", 3_700_000L, "w1");
    }

    @Test
    void aHundredThousandInWindowEntriesLeaveEveryScriptCorrect() {
        // 100k entries of 10 tokens, one every 100 us from 1 s: 1,000,000 tokens in the day window.
        fillLog(100_000, 1_000_000, 100, 10);
        h.config("tokens=1000005/1d,requests=100001/1d", 0, 60_000, "keep");
        long now = 20_000; // ms; the last entry is at 10.9999 s

        List<Object> u = h.usage(now);
        assertThat(usedOf(u, "t:1000005:86400000")).isEqualTo(1_000_000L);
        assertThat(usedOf(u, "r:100001:86400000")).isEqualTo(100_000L);

        // Admit 5 tokens: exactly full.
        List<Object> a = h.acquire("a", 5, 5, 0, now, false);
        assertThat(a.get(0)).isEqualTo(1L);
        // The request window is full too (100,001); and 25 more tokens need the first three
        // entries to leave: the third is at 1.0002 s.
        assertThat(h.acquire("b", 25, 25, 0, now + 1, false))
                .startsWith(0L, "window", 1_000_200L + 86_400_000_000L, "t:1000005:86400000");
        h.config("tokens=2000000/1d,requests=100001/1d", 0, 60_000, "keep");
        assertThat(h.acquire("b", 25, 25, 0, now + 2, false))
                .startsWith(0L, "window", 1_000_000L + 86_400_000_000L, "r:100001:86400000");

        // No concurrency cap: no lease to release (0); the usage is recorded.
        assertThat(h.complete("a", 50, 0, now + 3)).containsExactly(0L, 50L, 50L, 0L);
        u = h.usage(now + 4);
        assertThat(usedOf(u, "t:2000000:86400000")).isEqualTo(1_000_050);
        // The request window was the binding one at a's admission: it held 100,000 before a, and the
        // fleet keeps 95% of that.
        assertThat(h.learn429((Long) a.get(1), now + 5)).contains("r:100001:86400000", 95_000L, "429")
                .doesNotContain("headers");
    }

    @Test
    void aBatchOverAHundredThousandEntriesAdmitsTheExactPrefixAndCompletesInOneCall() {
        fillLog(100_000, 1_000_000, 100, 10);
        h.config("tokens=1000050/1d", 0, 60_000, "actual");
        String[] batch = new String[10];
        for (int j = 0; j < batch.length; j++) {
            batch[j] = "b" + j + ":10:10:0";
        }
        // Room for 50 tokens: the head and four more.
        List<Object> r = h.acquireBatch(20_000, false, batch);
        assertThat(r.subList(0, 5)).containsExactly(1L, 20_000_000L, 0L, 0L, 4L);
        assertThat(usedOf(h.usage(20_001), "t:1000050:86400000")).isEqualTo(1_000_050L);
        assertThat(h.acquire("late", 1, 1, 0, 20_002, false)).startsWith(0L, "window", 1_000_000L + 86_400_000_000L);

        List<List<String>> done = new ArrayList<>();
        for (int j = 0; j < 5; j++) {
            done.add(ScriptHarness.completion("b" + j, true, 2, 0, (Long) r.get(j == 0 ? 1 : 4 + j), 10, 10, 0, false));
        }
        List<Object> c = h.completeBatch(20_003, done);
        assertThat(c).hasSize(20).containsSequence(0L, 2L, 2L, 0L);
        List<Object> u = h.usage(20_004);
        assertThat(usedOf(u, "t:1000050:86400000")).isEqualTo(1_000_010L).isEqualTo(brute("t", 86_400_000_000L, (Long) u.get(0)));
    }

    @Test
    void manyEntriesLeavingAtOnceRebuildTheSumsExactly() {
        // 5,000 entries of 10 tokens over 5 s, then a quiet spell: 3,000 leave before the next call.
        fillLog(5_000, 1_000_000, 1_000, 10);
        h.config("tokens=1000000/10s", 0, 60_000, "keep");
        assertThat(usedOf(h.usage(6_000), "t:1000000:10000")).isEqualTo(50_000);
        List<Object> u = h.usage(14_000);
        assertThat(usedOf(u, "t:1000000:10000")).isEqualTo(19_990).isEqualTo(brute("t", 10_000_000, (Long) u.get(0)));
        assertThat(h.acquire("a", 10, 14_001).get(0)).isEqualTo(1L);
        assertThat(usedOf(h.usage(14_500), "t:1000000:10000")).isEqualTo(brute("t", 10_000_000, 14_500_000));
    }

    @Test
    void tokenWindowsStayExactUnderRefundsAndOveragesAndLimitChanges() {
        Random random = new Random(42);
        for (String accounting : List.of("actual", "keep")) {
            h.redis().del(h.keys.keys());
            h.config("tokens=100000/10s,input_tokens=60000/20s,output_tokens=30000/3s", 0, 60_000, accounting);
            long now = 0;
            // Corrections only: the running sums are exact at every step.
            now = run(random, now, 400, accounting, false);
            // Windows added, removed and rebuilt (and the margin changed) mid-run: never below
            // the log's true content.
            now = run(random, now, 400, accounting, true);
            // Once the longest window passed without a rebuild, every sum is exact again.
            h.config("tokens=100000/10s,input_tokens=60000/20s,output_tokens=30000/3s", 0, 60_000, accounting, 0);
            now = run(random, now + 21_000, 300, accounting, false);
        }
    }

    private long run(Random random, long now, int steps, String accounting, boolean changes) {
        List<String> open = new ArrayList<>();
        long rebuiltAt = changes ? now : Long.MIN_VALUE;
        for (int step = 0; step < steps; step++) {
            now += random.nextInt(200);
            int op = random.nextInt(20);
            if (op < 7) {
                long in = random.nextInt(3_000);
                long out = random.nextInt(1_000);
                String id = "r" + now + "-" + step;
                if ((Long) h.acquire(id, in + out, in, out, now, false).get(0) == 1L) {
                    open.add(id);
                }
            } else if (op < 10) {
                // A batch: the admitted prefix is logged entry by entry, so the sums stay exact.
                String[] batch = new String[1 + random.nextInt(4)];
                for (int j = 0; j < batch.length; j++) {
                    long in = random.nextInt(3_000);
                    long out = random.nextInt(1_000);
                    batch[j] = "r" + now + "-" + step + "-" + j + ":" + (in + out) + ":" + in + ":" + out;
                }
                List<Object> r = h.acquireBatch(now, false, batch);
                if ((Long) r.get(0) == 1L) {
                    for (int j = 0; j <= (Long) r.get(4); j++) {
                        open.add(batch[j].substring(0, batch[j].indexOf(':')));
                    }
                }
            } else if (op < 12 && open.size() >= 2) {
                List<List<String>> done = new ArrayList<>();
                for (int j = 0; j < 2; j++) {
                    String id = open.remove(random.nextInt(open.size()));
                    done.add(ScriptHarness.completion(id, true, random.nextInt(4_000), random.nextInt(1_500), -1, 0, 0,
                            0, false));
                }
                assertThat(h.completeBatch(now, done)).hasSize(8);
            } else if (op < 19 && !open.isEmpty()) {
                String id = open.remove(random.nextInt(open.size()));
                h.complete(id, random.nextInt(4_000), random.nextInt(1_500), now);
            } else if (changes) {
                long margin = random.nextInt(2) * 300L;
                String extra = random.nextBoolean() ? ",tokens=90000/5s" : "";
                h.config("tokens=100000/10s,input_tokens=60000/20s,output_tokens=30000/3s" + extra, 0, 60_000,
                        accounting, margin);
                rebuiltAt = now;
            }
            if (step % 20 == 0) {
                assertWindowsMatchTheLog(now, accounting, now - rebuiltAt > 21_000);
            }
        }
        return now;
    }

    /**
     * The running sums equal the brute-force sums from the log; after a rebuild that could not see
     * earlier corrections they may exceed them (conservative), until the longest window passed.
     */
    private void assertWindowsMatchTheLog(long nowMs, String accounting, boolean exact) {
        List<Object> u = h.usage(nowMs);
        long nowUs = (Long) u.get(0);
        long margin = (Long) u.get(4);
        for (int i = 5; i + 3 < u.size(); i += 4) {
            String[] spec = ((String) u.get(i)).split(":");
            long brute = brute(spec[0], (Long.parseLong(spec[2]) + margin) * 1000, nowUs);
            if (exact) {
                assertThat((Long) u.get(i + 1)).as("%s (%s)", u.get(i), accounting).isEqualTo(brute);
            } else {
                assertThat((Long) u.get(i + 1)).as("%s (%s)", u.get(i), accounting).isGreaterThanOrEqualTo(brute);
            }
        }
    }

    private long brute(String res, long windowUs, long nowUs) {
        long floor = nowUs - windowUs;
        long sum = 0;
        for (RequestLog.Entry e : h.log()) {
            if (e.admitUs() > floor) {
                long[] c = e.value();
                sum += switch (res) {
                    case "t" -> c[0];
                    case "i" -> c[1];
                    case "o" -> c[2];
                    default -> 1;
                };
            }
        }
        return sum;
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
