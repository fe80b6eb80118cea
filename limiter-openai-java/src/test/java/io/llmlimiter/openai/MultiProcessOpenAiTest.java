package io.llmlimiter.openai;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Three JVMs with the limited OpenAI SDK client share one budget: the provider refuses none of their calls. */
@WithRedis
class MultiProcessOpenAiTest {

    private static final int JVMS = 3;
    private static final int THREADS = 3;
    private static final int CALLS = 2;

    @Test
    void threeJvmsShareOneBudgetWithNoProvider429(RedisProcess redis) throws Exception {
        try (MockProvider provider = MockProvider.start(MockProviderConfig.builder().requests(6, Duration.ofSeconds(1))
                .noTokenLimit().latency(Duration.ofMillis(20)).arrivalDelay(Duration.ofMillis(30)).build())) {
            String baseUrl = provider.baseUrl() + "/v1";
            Target t = Targets.forEndpoint(URI.create(baseUrl), "gpt-4o-mini");
            try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
                // The provider's published limit, as users configure it.
                limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=6/1s").build());
            }
            long start = System.currentTimeMillis() + 6000; // room for three JVMs to start on a busy machine
            List<JvmProcess> jvms = new ArrayList<>();
            try {
                for (int i = 0; i < JVMS; i++) {
                    jvms.add(JvmProcess.start(OpenAiWorker.class, redis.uri(), baseUrl, "gpt-4o-mini",
                            Integer.toString(THREADS), Integer.toString(CALLS), Long.toString(start)));
                }
                for (JvmProcess jvm : jvms) {
                    assertThat(jvm.process().waitFor(90, TimeUnit.SECONDS)).as(jvm.output()).isTrue();
                    assertThat(jvm.process().exitValue()).as(jvm.output()).isZero();
                    assertThat(jvm.output()).as(jvm.output()).contains("ok " + THREADS * CALLS + " errors 0");
                }
            } finally {
                jvms.forEach(JvmProcess::close);
            }
            assertThat(provider.rateLimitedCount()).as("provider 429s").isZero();
            assertThat(provider.successCount()).isEqualTo(JVMS * THREADS * CALLS);
            assertThat(provider.maxRequestsInAnyWindow(Duration.ofSeconds(1))).isLessThanOrEqualTo(6);
        }
    }
}
