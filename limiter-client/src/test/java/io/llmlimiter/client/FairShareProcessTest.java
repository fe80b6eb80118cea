package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.scripts.RequestLog;
import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.RequestLogs;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Fair share across real JVMs on one Redis: shares are measured from what Redis admitted over
 * many windows (the tenants' admitted totals in the target's fair-share hash), never from timings.
 */
@WithRedis
class FairShareProcessTest {

    private static final String TTL = "2000";

    @Test
    void threeBackloggedTenantsWithWeights1To2To5GetTheirWeightedShareOfTokensOver30Windows(RedisProcess redis)
            throws Exception {
        Target target = Target.parse("fair/weights");
        LimitConfig config = LimitConfig.builder(target).limits("tokens=2000/1s,requests=1000000/120s")
                .fairShare(FairShare.builder().tenant("a", TenantShare.weight(1)).tenant("b", TenantShare.weight(2))
                        .tenant("c", TenantShare.weight(5)).build()).build();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             RedisClient client = RedisClient.create(redis.uri());
             StatefulRedisConnection<String, String> conn = client.connect()) {
            limiter.admin().putConfig(config);
            String[] work = {"a:batch:3:100", "b:batch:3:100", "c:batch:3:100"};
            List<JvmProcess> jvms = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    jvms.add(JvmProcess.start(TenantWorker.class, args(redis, target, work)));
                }
                await().atMost(Duration.ofSeconds(90)).until(() -> jvms.stream().allMatch(j -> j.output().contains("RUNNING a")
                        && j.output().contains("RUNNING b") && j.output().contains("RUNNING c")));
                Map<String, String> before = conn.sync().hgetall(tenantsKey(target));
                long start = System.nanoTime();
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                        .until(() -> System.nanoTime() - start >= Duration.ofSeconds(30).toNanos());
                Map<String, String> after = conn.sync().hgetall(tenantsKey(target));
                long elapsedMs = (System.nanoTime() - start) / 1_000_000;

                long a = tokens(after, "a") - tokens(before, "a");
                long b = tokens(after, "b") - tokens(before, "b");
                long c = tokens(after, "c") - tokens(before, "c");
                long all = a + b + c;
                // Each entry counts for its window plus the delivery margin: 2000 tokens per 1.25 s.
                long allowed = 2000L * elapsedMs / (1000 + LimitConfig.DEFAULT_DELIVERY_MARGIN.toMillis());
                System.out.printf("SHARES a=%d b=%d c=%d of %d, %d allowed in %d ms%n", a, b, c, all, allowed, elapsedMs);
                assertThat(all).as("work-conserving: backlogged tenants use the budget, a loaded machine included")
                        .isGreaterThanOrEqualTo(allowed * 6 / 10);
                assertThat((double) a / all).as("a of %s", after).isBetween(0.9 / 8, 1.1 / 8);
                assertThat((double) b / all).as("b of %s", after).isBetween(0.9 * 2 / 8, 1.1 * 2 / 8);
                assertThat((double) c / all).as("c of %s", after).isBetween(0.9 * 5 / 8, 1.1 * 5 / 8);
                // Exactness is unchanged: no window ever held more than its limit.
                List<WindowAuditor.Admission> log = new ArrayList<>();
                for (RequestLog.Entry e : RequestLogs.read(client, target.toString())) {
                    log.add(new WindowAuditor.Admission(e.admitUs(), 100));
                }
                assertThat(WindowAuditor.maxInAnyWindow(log, config.limits().get(0))).isLessThanOrEqualTo(2000);
            } finally {
                jvms.forEach(JvmProcess::close);
            }
        }
    }

    @Test
    void aTenantBackFromIdleIsBackToItsShareWithinOneWindowAndBanksNoCredit(RedisProcess redis) throws Exception {
        Target target = Target.parse("fair/idle");
        LimitConfig config = LimitConfig.builder(target).limits("requests=20/2s").deliveryMargin(Duration.ZERO)
                .fairShare(FairShare.builder().build()).build();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             RedisClient client = RedisClient.create(redis.uri());
             StatefulRedisConnection<String, String> conn = client.connect()) {
            limiter.admin().putConfig(config);
            try (JvmProcess busy = JvmProcess.start(TenantWorker.class, args(redis, target, "busy:batch:3:10"))) {
                await().atMost(Duration.ofSeconds(90)).until(() -> busy.output().contains("RUNNING busy"));
                // The busy tenant has the whole budget for several windows while the other is idle.
                long t0 = System.nanoTime();
                await().atMost(Duration.ofSeconds(60)).until(() -> System.nanoTime() - t0 > Duration.ofSeconds(6).toNanos());
                long back = requests(conn.sync().hgetall(tenantsKey(target)), "back");
                assertThat(back).isZero();
                try (JvmProcess returning = JvmProcess.start(TenantWorker.class, args(redis, target, "back:batch:3:10"))) {
                    await().atMost(Duration.ofSeconds(90)).until(() -> returning.output().contains("RUNNING back"));
                    // From its first admission on, over the next windows: half each, not more (no banked credit).
                    Map<String, String> first = conn.sync().hgetall(tenantsKey(target));
                    long t1 = System.nanoTime();
                    await().atMost(Duration.ofSeconds(60)).until(() -> System.nanoTime() - t1 > Duration.ofSeconds(10).toNanos());
                    Map<String, String> later = conn.sync().hgetall(tenantsKey(target));
                    long got = requests(later, "back") - requests(first, "back");
                    long other = requests(later, "busy") - requests(first, "busy");
                    assertThat((double) got / (got + other)).as("returning tenant's share").isBetween(0.4, 0.6);
                }
            }
        }
    }

    @Test
    void aReservedMinimumAndACapHoldUnderAFloodOfTheOthers(RedisProcess redis) throws Exception {
        Target target = Target.parse("fair/reserve");
        LimitConfig config = LimitConfig.builder(target).limits("requests=20/2s").deliveryMargin(Duration.ZERO)
                .fairShare(FairShare.builder()
                        .tenant("small", TenantShare.weight(1).reserve(0.3))
                        .tenant("capped", TenantShare.weight(20).cap(0.2))
                        .tenant("flood", TenantShare.weight(20)).build()).build();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             RedisClient client = RedisClient.create(redis.uri());
             StatefulRedisConnection<String, String> conn = client.connect()) {
            limiter.admin().putConfig(config);
            try (JvmProcess floods = JvmProcess.start(TenantWorker.class, args(redis, target, "flood:interactive:5:10",
                    "capped:interactive:5:10"));
                 JvmProcess small = JvmProcess.start(TenantWorker.class, args(redis, target, "small:background:2:10"))) {
                await().atMost(Duration.ofSeconds(90)).until(() -> floods.output().contains("RUNNING flood")
                        && floods.output().contains("RUNNING capped") && small.output().contains("RUNNING small"));
                Map<String, String> before = conn.sync().hgetall(tenantsKey(target));
                long start = System.nanoTime();
                await().atMost(Duration.ofSeconds(90)).until(() -> System.nanoTime() - start > Duration.ofSeconds(20).toNanos());
                Map<String, String> after = conn.sync().hgetall(tenantsKey(target));
                long s = requests(after, "small") - requests(before, "small");
                long c = requests(after, "capped") - requests(before, "capped");
                long f = requests(after, "flood") - requests(before, "flood");
                long all = s + c + f;
                assertThat(all).as("the budget was used").isGreaterThan(100);
                assertThat((double) s / all).as("reserved tenant's share of %s", after).isGreaterThanOrEqualTo(0.27);
                assertThat((double) c / all).as("capped tenant's share of %s", after).isLessThanOrEqualTo(0.2);
                assertThat((double) c / all).as("capped tenant still moves").isGreaterThan(0.1);
            }
        }
    }

    @Test
    void anInteractiveCallUnderABatchFloodOf1000WaitersIsAdmittedWithinOneAdmissionOfTheBudgetFreeing(RedisProcess redis)
            throws Exception {
        Target target = Target.parse("fair/interactive");
        LimitConfig config = LimitConfig.builder(target).limits("requests=4/1s").deliveryMargin(Duration.ZERO)
                .fairShare(FairShare.builder().build()).build();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             RedisClient client = RedisClient.create(redis.uri());
             StatefulRedisConnection<String, String> conn = client.connect()) {
            limiter.admin().putConfig(config);
            try (JvmProcess f1 = JvmProcess.start(TenantWorker.class, args(redis, target, "bulk:batch:500:10"));
                 JvmProcess f2 = JvmProcess.start(TenantWorker.class, args(redis, target, "bulk2:batch:500:10"))) {
                await().atMost(Duration.ofSeconds(90)).until(() -> f1.output().contains("RUNNING bulk")
                        && f2.output().contains("RUNNING bulk2"));
                // The first call reads the config and subscribes: the calls measured after it are in line at once.
                limiter.acquire(target, Tenant.of("person", Priority.INTERACTIVE), Estimate.tokens(10), Duration.ofSeconds(30))
                        .close();
                for (int i = 0; i < 5; i++) {
                    List<RequestLog.Entry> log = RequestLogs.read(client, target.toString());
                    long before = log.get(log.size() - 1).admitUs();
                    long admitted;
                    try (Permit p = limiter.acquire(target, Tenant.of("person", Priority.INTERACTIVE), Estimate.tokens(10),
                            Duration.ofSeconds(30))) {
                        Instant at = p.admittedAt();
                        admitted = at.getEpochSecond() * 1_000_000 + at.getNano() / 1000;
                    }
                    // Redis's own record: every admission between the call's arrival and its own is a batch one.
                    long batchBetween = RequestLogs.read(client, target.toString()).stream()
                            .filter(e -> e.admitUs() > before && e.admitUs() < admitted).count();
                    assertThat(batchBetween).as("batch admissions before the interactive call, try %d", i)
                            .isLessThanOrEqualTo(1);
                }
                assertThat(f1.output() + f2.output()).doesNotContain("FAILED");
            }
        }
    }

    private static String[] args(RedisProcess redis, Target target, String... work) {
        List<String> a = new ArrayList<>(List.of(redis.uri(), target.toString(), TTL));
        a.addAll(List.of(work));
        return a.toArray(String[]::new);
    }

    private static String tenantsKey(Target target) {
        return "llmlim:{" + target + "}:tn";
    }

    private static long tokens(Map<String, String> state, String tenant) {
        return Long.parseLong(state.getOrDefault("a:" + tenant, "0"));
    }

    private static long requests(Map<String, String> state, String tenant) {
        return Long.parseLong(state.getOrDefault("n:" + tenant, "0"));
    }
}
