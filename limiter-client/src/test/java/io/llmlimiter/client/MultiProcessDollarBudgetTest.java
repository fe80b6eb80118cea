package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three JVMs race for one $1 budget through execute: the reserved spend never passes it. */
@WithRedis
class MultiProcessDollarBudgetTest {

    private static final int JVMS = 3;
    private static final int THREADS = 6;
    private static final long BUDGET_MICROS = 1_000_000;

    @Test
    void threeJvmsRacingADollarNeverSpendPastItAndTheLastCallsFailAtOnce(RedisProcess redis, @TempDir Path dir)
            throws Exception {
        Target target = Target.parse("mock/dollar-race");
        // $10 / $40 per million tokens: each call's estimate (500 in, 1000 out) reserves $0.045,
        // so about 22 calls fit; each uses 100 to 1000 output tokens and is refunded the rest.
        LimitConfig config = LimitConfig.builder(target).limits("requests=1000/1s,usd=1/1h")
                .prices(ModelPrice.of("10", "40")).accounting(Accounting.KEEP).build();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(config);
        }
        long start = System.currentTimeMillis() + 6000;

        List<JvmProcess> jvms = new ArrayList<>();
        List<Path> outs = new ArrayList<>();
        long spent = 0;
        try {
            for (int i = 0; i < JVMS; i++) {
                Path out = dir.resolve("worker-" + i + ".txt");
                outs.add(out);
                jvms.add(JvmProcess.start(BudgetWorker.class, redis.uri(), target.toString(), Integer.toString(THREADS),
                        Long.toString(start), out.toString()));
            }
            long calls = 0;
            for (int i = 0; i < JVMS; i++) {
                JvmProcess jvm = jvms.get(i);
                assertThat(jvm.process().waitFor(120, TimeUnit.SECONDS)).as("worker %d finished; output:%n%s", i,
                        jvm.output()).isTrue();
                assertThat(jvm.process().exitValue()).as(jvm.output()).isZero();
                Map<String, Long> seen = new HashMap<>();
                List<String> lines = Files.readAllLines(outs.get(i));
                for (String line : lines) {
                    String[] p = line.split(" ");
                    if (p.length == 2) {
                        seen.put(p[0], Long.parseLong(p[1]));
                    } else {
                        // Each refusal names the budget and what it had left: less than the call's cost.
                        assertThat(p[1]).isEqualTo("usd=1/1h");
                        assertThat(Long.parseLong(p[2])).isLessThan(45_000);
                    }
                }
                assertThat(seen.get("errors")).as(jvm.output()).isZero();
                // Every thread ended on BudgetExceededException, and none of those calls reached the provider.
                assertThat(seen.get("refused")).isEqualTo(THREADS);
                assertThat(seen.get("ran_after_refusal")).isZero();
                calls += seen.get("calls");
                spent += seen.get("spent");
            }
            System.out.printf("calls=%d spent=%d micro-dollars of %d%n", calls, spent, BUDGET_MICROS);
            assertThat(spent).as("actual spend").isLessThanOrEqualTo(BUDGET_MICROS);
            assertThat(calls).as("calls admitted").isGreaterThanOrEqualTo(BUDGET_MICROS / 45_000);
        } finally {
            jvms.forEach(JvmProcess::close);
        }

        // Every reservation was corrected to the actual cost: what the budget has left is exactly
        // the dollar minus what the workers spent, and the stats hold that spend.
        RedisClient client = RedisClient.create(redis.uri());
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            assertThat(c.sync().hget("llmlim:{" + target + "}:stats", "cost_usd_micros")).isEqualTo(Long.toString(spent));
        } finally {
            client.shutdown();
        }
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            long left = BUDGET_MICROS - spent;
            assertThatThrownBy(() -> limiter.tryAcquire(target, Estimate.of(0, 30_000)))
                    .isInstanceOfSatisfying(BudgetExceededException.class, e -> {
                        assertThat(e.leftMicroUsd()).isEqualTo(left);
                        assertThat(e.freesAt()).isEmpty();
                    });
        }
    }
}
