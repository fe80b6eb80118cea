package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several JVMs share one exact budget: no window over its amount, and the budget used. */
@WithRedis
class MultiProcessBudgetTest {

    private static final int JVMS = 3;
    private static final int THREADS = 8;

    @Test
    void threeJvmsAtTwiceTheBudgetNeverOverfillAWindowAndUseItAll(RedisProcess redis, @TempDir Path dir)
            throws Exception {
        Target target = Target.parse("multi/jvm");
        // Demand: 24 threads x ~1 call per 20 ms, far above twice the binding limit (60 per 4 s). The
        // token window is exercised (mixed sizes) but sized so that it rarely binds before it.
        LimitConfig config = LimitConfig.builder(target)
                .limits("requests=20/1s,requests=60/4s,tokens=60000/2s").maxConcurrent(16)
                .leaseTtl(Duration.ofSeconds(5)).accounting(Accounting.KEEP).build();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(config);
        }
        int windows = 3; // of the 4 s limit: 12 s of steady load
        Path gate = dir.resolve("gate");

        List<JvmProcess> jvms = new ArrayList<>();
        List<Path> outs = new ArrayList<>();
        try {
            for (int i = 0; i < JVMS; i++) {
                Path out = dir.resolve("worker-" + i + ".txt");
                outs.add(out);
                jvms.add(JvmProcess.start(LoadWorker.class, redis.uri(), target.toString(), Integer.toString(THREADS),
                        gate.toString(), Long.toString(windows * 4000L + 1500), out.toString(), "20", "50,200,800,2500"));
            }
            StartGate.open(gate, jvms, Duration.ofMillis(500));
            List<WindowAuditor.Admission> admissions = new ArrayList<>();
            for (int i = 0; i < JVMS; i++) {
                JvmProcess jvm = jvms.get(i);
                assertThat(jvm.process().waitFor(90, java.util.concurrent.TimeUnit.SECONDS))
                        .as("worker %d finished; output:%n%s", i, jvm.output()).isTrue();
                assertThat(jvm.process().exitValue()).as(jvm.output()).isZero();
                List<String> lines = Files.readAllLines(outs.get(i));
                assertThat(lines.get(0)).as("worker %d errors; output:%n%s", i, jvm.output()).isEqualTo("errors 0");
                for (String line : lines.subList(1, lines.size())) {
                    String[] p = line.split(" ");
                    admissions.add(new WindowAuditor.Admission(Long.parseLong(p[0]), Long.parseLong(p[1])));
                }
            }

            for (Limit limit : config.limits()) {
                assertThat(WindowAuditor.maxInAnyWindow(admissions, limit)).as("max in any window of %s", limit)
                        .isLessThanOrEqualTo(limit.amount());
            }
            // The binding limit is used to at least 95% over the steady part of the run.
            double best = 0;
            for (Limit limit : config.limits()) {
                int n = (int) (windows * 4000 / limit.window().toMillis());
                best = Math.max(best, WindowAuditor.usedInWindows(admissions, limit, n) / (double) (n * limit.amount()));
            }
            System.out.printf("admissions=%d share of the binding limit used=%.3f%n", admissions.size(), best);
            assertThat(best).as("share of the budget used").isGreaterThanOrEqualTo(0.95);
        } finally {
            jvms.forEach(JvmProcess::close);
        }
    }
}
