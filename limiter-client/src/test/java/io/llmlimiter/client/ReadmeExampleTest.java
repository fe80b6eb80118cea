package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The README's client example, as written there, so it stays true. */
@WithRedis
class ReadmeExampleTest {

    record ChatResponse(long promptTokens, long completionTokens) {
    }

    private static ChatResponse callTheModel() {
        return new ChatResponse(1100, 420);
    }

    @Test
    void theReadmeClientExampleRuns(RedisProcess redis) {
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            Target gpt4o = Target.parse("openai/gpt-4o");
            limiter.admin().putConfig(LimitConfig.builder(gpt4o)
                    .limits("requests=500/60s,requests=10/1s,tokens=30000/60s")
                    .maxConcurrent(8)
                    .build());

            // Acquire (waits at most 30 s, in arrival order), call, report what the call used.
            try (Permit permit = limiter.acquire(gpt4o, Estimate.of(1200, 500), Duration.ofSeconds(30))) {
                ChatResponse r = callTheModel();
                permit.complete(Usage.of(r.promptTokens(), r.completionTokens()));
            }

            assertThat(limiter.admin().stats(gpt4o)).containsEntry("actual_input_tokens", 1100L);
        }
    }
}
