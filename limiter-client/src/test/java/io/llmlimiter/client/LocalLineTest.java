package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.RedisWire;
import io.llmlimiter.testing.WithRedis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One line per process: the waiters of a JVM queue locally, only the head talks to Redis, and an
 * admitted head takes the waiters behind it along in the same script call.
 */
@WithRedis
class LocalLineTest {

    private static long evalshaCalls(RedisProcess redis) {
        String stat = RedisWire.info(redis.port(), "commandstats", "cmdstat_evalsha");
        if (stat == null) {
            return 0;
        }
        for (String part : stat.split(",")) {
            if (part.startsWith("calls=")) {
                return Long.parseLong(part.substring("calls=".length()));
            }
        }
        return 0;
    }

    private static long stat(RedisProcess redis, Target target, String field) {
        Object v = RedisWire.call(redis.port(), "HGET", "llmlim:{" + target + "}:stats", field);
        return v == null ? 0 : Long.parseLong(v.toString());
    }

    @Test
    void manyLocalWaitersAreAdmittedByOneScriptCall(RedisProcess redis) {
        Target target = Target.parse("line/batch");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("requests=1000/1s").maxConcurrent(0)
                    .accounting(Accounting.KEEP).build());
            // A provider 429 pauses the target: the waiters pile up behind the local head.
            limiter.reportRateLimited(target, Duration.ofMillis(1500));
            List<CompletableFuture<Permit>> waiters = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                waiters.add(limiter.acquireAsync(target, Estimate.requestOnly(), Duration.ofSeconds(20)));
            }
            long before = evalshaCalls(redis);
            List<Permit> permits = new ArrayList<>();
            for (CompletableFuture<Permit> w : waiters) {
                permits.add(w.join());
            }
            long calls = evalshaCalls(redis) - before;
            assertThat(stat(redis, target, "admitted")).isEqualTo(40);
            // The head checks in while the pause runs (ticket TTL 10 s: none), sends once when it
            // ends and takes the 39 others along; the stragglers of the first call, at most a few more.
            assertThat(calls).as("script calls to admit 40 local waiters").isLessThanOrEqualTo(5);
            // Each waiter got its own admission.
            assertThat(permits.stream().map(Permit::leaseId).distinct().count()).isEqualTo(40);
            permits.forEach(Permit::close);
        }
    }

    @Test
    void localWaitersHoldOneTicketAndRedisWorkDoesNotGrowWithThem(RedisProcess redis) throws Exception {
        Target target = Target.parse("line/ticket");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).ticketTtl(Duration.ofSeconds(1)).build()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("requests=1/30s").maxConcurrent(0).build());
            limiter.acquire(target, Estimate.requestOnly(), Duration.ofSeconds(1)).close();
            List<CompletableFuture<Permit>> waiters = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                // Longer than the window, so the head waits instead of giving up at once.
                waiters.add(limiter.acquireAsync(target, Estimate.requestOnly(), Duration.ofSeconds(60)));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> limiter.admin().usage(target).waiting() == 1);
            long before = evalshaCalls(redis);
            Thread.sleep(2000);
            long calls = evalshaCalls(redis) - before;
            // Only the head checks in (every half ticket TTL): about 4 calls, not 30 waiters' worth.
            assertThat(calls).as("script calls while 30 local waiters wait 2 s").isLessThanOrEqualTo(8);
            assertThat(limiter.admin().usage(target).waiting()).isEqualTo(1);
            waiters.forEach(w -> w.cancel(false));
        }
    }

    @Test
    void cancellingTheLocalHeadOrAWaiterInTheMiddleLetsTheNextGo(RedisProcess redis) throws Exception {
        Target target = Target.parse("line/cancel");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("requests=1000/1s").maxConcurrent(1)
                    .leaseTtl(Duration.ofSeconds(30)).build());
            Permit slot = limiter.acquire(target, Estimate.requestOnly(), Duration.ofSeconds(1));
            CompletableFuture<Permit> head = limiter.acquireAsync(target, Estimate.requestOnly(), Duration.ofSeconds(20));
            CompletableFuture<Permit> middle = limiter.acquireAsync(target, Estimate.requestOnly(), Duration.ofSeconds(20));
            CompletableFuture<Permit> last = limiter.acquireAsync(target, Estimate.requestOnly(), Duration.ofSeconds(20));
            await().atMost(Duration.ofSeconds(10)).until(() -> limiter.admin().usage(target).waiting() == 1);

            middle.cancel(false);
            head.cancel(false);
            // The next live waiter takes over the ticket role.
            await().atMost(Duration.ofSeconds(10)).until(() -> limiter.admin().usage(target).waiting() == 1);
            slot.close();
            Permit p = last.get(10, TimeUnit.SECONDS);
            assertThat(head).isCancelled();
            assertThat(middle).isCancelled();
            assertThat(stat(redis, target, "admitted")).isEqualTo(2);
            p.close();
            assertThat(limiter.admin().usage(target).waiting()).isZero();
        }
    }

    @Test
    void aLeaseFreeAdmissionIsNeverRenewedAndItsStatsStillAddUp(RedisProcess redis) throws Exception {
        Target target = Target.parse("line/leasefree");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("requests=1000/1s,tokens=100000/1s")
                    .maxConcurrent(0).leaseTtl(Duration.ofMillis(300)).accounting(Accounting.KEEP).build());
            // Read the config once, so the client knows the accounting.
            limiter.execute(target, Estimate.of(10, 10), ctx -> {
                ctx.usage(Usage.of(5, 5));
                return "warm";
            });
            long before = evalshaCalls(redis);
            Permit p = limiter.acquire(target, Estimate.of(10, 10), Duration.ofSeconds(1));
            Thread.sleep(1200);
            // One acquire, and at most one stats flush (the admission waits go to spend.lua once a
            // second; this read sends what is left, so nothing is flushed during the checks below);
            // four lease TTLs passed and nothing renewed (renewals would add four).
            limiter.admin().stats(target);
            long sent = evalshaCalls(redis) - before;
            assertThat(sent).isBetween(1L, 2L);
            assertThat(RedisWire.call(redis.port(), "ZCARD", "llmlim:{" + target + "}:leases")).isEqualTo(0L);
            p.complete(Usage.of(8, 2));
            // Within the estimate under keep accounting: no completion script either.
            assertThat(evalshaCalls(redis) - before).isEqualTo(sent);
            for (int i = 0; i < 20; i++) {
                limiter.execute(target, Estimate.of(10, 10), ctx -> {
                    ctx.usage(Usage.of(7, 3));
                    return "ok";
                });
            }
            // One above its estimate: sent as a completion, the overage is charged.
            limiter.execute(target, Estimate.of(10, 10), ctx -> {
                ctx.usage(Usage.of(30, 3));
                return "over";
            });
        }
        // Closing flushed the counters.
        assertThat(stat(redis, target, "admitted")).isEqualTo(23);
        assertThat(stat(redis, target, "completed")).isEqualTo(23);
        assertThat(stat(redis, target, "actual_input_tokens")).isEqualTo(5 + 8 + 20 * 7 + 30);
        assertThat(stat(redis, target, "actual_output_tokens")).isEqualTo(5 + 2 + 20 * 3 + 3);
        assertThat(stat(redis, target, "estimated_tokens")).isEqualTo(23 * 20);
    }

    @Test
    void threeJvmsWithLocalLinesShareASaturatedBudgetFairly(RedisProcess redis, @TempDir Path dir) throws Exception {
        Target target = Target.parse("line/fair");
        LimitConfig config = LimitConfig.builder(target).limits("requests=20/1s").maxConcurrent(0)
                .accounting(Accounting.KEEP).build();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(config);
        }
        Path gate = dir.resolve("gate");
        List<JvmProcess> jvms = new ArrayList<>();
        List<Path> outs = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Path out = dir.resolve("worker-" + i + ".txt");
                outs.add(out);
                jvms.add(JvmProcess.start(LoadWorker.class, redis.uri(), target.toString(), "16",
                        gate.toString(), "8000", out.toString(), "5", "10"));
            }
            StartGate.open(gate, jvms, Duration.ofMillis(500));
            List<WindowAuditor.Admission> all = new ArrayList<>();
            List<Integer> counts = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                JvmProcess jvm = jvms.get(i);
                assertThat(jvm.process().waitFor(90, TimeUnit.SECONDS)).as(jvm.output()).isTrue();
                List<String> lines = Files.readAllLines(outs.get(i));
                assertThat(lines.get(0)).as(jvm.output()).isEqualTo("errors 0");
                counts.add(lines.size() - 1);
                for (String line : lines.subList(1, lines.size())) {
                    String[] p = line.split(" ");
                    all.add(new WindowAuditor.Admission(Long.parseLong(p[0]), Long.parseLong(p[1])));
                }
            }
            for (Limit limit : config.limits()) {
                assertThat(WindowAuditor.maxInAnyWindow(all, limit)).isLessThanOrEqualTo(limit.amount());
            }
            int total = counts.stream().mapToInt(Integer::intValue).sum();
            System.out.printf("admissions per JVM: %s%n", counts);
            assertThat(total).isGreaterThanOrEqualTo(100);
            // Heads of the three local lines take turns in Redis's line: each JVM gets a fair share.
            for (int c : counts) {
                assertThat(c).as("admissions per JVM %s", counts).isGreaterThanOrEqualTo(total / 3 / 2);
            }
        } finally {
            jvms.forEach(JvmProcess::close);
        }
    }
}
