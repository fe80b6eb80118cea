package io.llmlimiter.langchain4j;

import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Three JVMs, each with its own limited LangChain4j model, share one provider budget: no 429 at all. */
@WithRedis
class SharedBudgetTest {

    private static final int JVMS = 3;
    private static final int THREADS = 3;
    private static final int CALLS_PER_THREAD = 2;

    @Test
    void threeJvmsShareOneBudgetWithoutA429(RedisProcess redis, @TempDir Path dir) throws Exception {
        // 18 calls at once against 5 per second: over three times what one window holds.
        try (MockProvider provider = MockProvider.start(MockProviderConfig.builder()
                .requests(5, Duration.ofSeconds(1)).tokens(100_000, Duration.ofSeconds(1))
                .latency(Duration.ofMillis(50)).build())) {
            List<JvmProcess> jvms = new ArrayList<>();
            List<Path> outs = new ArrayList<>();
            try {
                for (int i = 0; i < JVMS; i++) {
                    outs.add(dir.resolve("worker-" + i + ".txt"));
                    jvms.add(JvmProcess.start(SharedBudgetWorker.class, redis.uri(), provider.baseUrl(),
                            "gpt-4o-mini", "requests=5/1s,tokens=100000/1s", Integer.toString(THREADS),
                            Integer.toString(CALLS_PER_THREAD), dir.toString(), "worker-" + i));
                }
                // All three JVMs up and warmed before the shared phase: the point is three at once.
                long deadline = System.currentTimeMillis() + 90_000;
                for (int i = 0; i < JVMS; i++) {
                    while (!Files.exists(dir.resolve("worker-" + i + ".ready")) && jvms.get(i).process().isAlive()
                            && System.currentTimeMillis() < deadline) {
                        Thread.sleep(50);
                    }
                }
                // The warm-up calls leave the provider's window (and the delivery margin) first.
                Thread.sleep(2000);
                Files.writeString(dir.resolve("go"), "go");
                for (int i = 0; i < JVMS; i++) {
                    JvmProcess jvm = jvms.get(i);
                    assertThat(jvm.process().waitFor(90, TimeUnit.SECONDS)).as("worker %d finished; output:%n%s", i,
                            jvm.output()).isTrue();
                    assertThat(Files.readString(outs.get(i))).as(jvm.output())
                            .isEqualTo("ok " + THREADS * CALLS_PER_THREAD);
                }
            } finally {
                jvms.forEach(JvmProcess::close);
            }
            assertThat(provider.rateLimitedCount()).as("provider 429s").isZero();
            assertThat(provider.successCount()).isEqualTo(JVMS * (1 + THREADS * CALLS_PER_THREAD));
            assertThat(provider.maxRequestsInAnyWindow(Duration.ofSeconds(1))).isLessThanOrEqualTo(5);
        }
    }
}
