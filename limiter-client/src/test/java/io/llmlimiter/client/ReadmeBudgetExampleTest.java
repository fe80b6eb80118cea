package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import org.junit.jupiter.api.Test;

/** The README's dollar budget example, as written there, so it stays true. */
@WithRedis
class ReadmeBudgetExampleTest {

    record ChatResponse(long promptTokens, long completionTokens, String text) {
    }

    private static ChatResponse callTheModel() {
        return new ChatResponse(1100, 420, "hello");
    }

    @Test
    void theReadmeDollarBudgetExampleRuns(RedisProcess redis) {
        Target gpt4o = Target.parse("openai/gpt-4o");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(gpt4o)
                    .limits("requests=500/60s,tokens=30000/60s,usd=50/1d,usd=1000/month")
                    .build());

            try {
                String answer = limiter.execute(gpt4o, Estimate.of(1200, 500), ctx -> {
                    ChatResponse r = callTheModel();
                    ctx.usage(Usage.of(r.promptTokens(), r.completionTokens()));
                    return r.text();
                });
                assertThat(answer).isEqualTo("hello");
            } catch (BudgetExceededException e) {
                throw new AssertionError("a fresh $50 budget refused a cent's call", e);
            }

            // gpt-4o from the bundled table: 1100 in and 420 out priced exactly.
            ModelPrice p = PriceTable.bundled().find(gpt4o).orElseThrow();
            assertThat(limiter.admin().stats(gpt4o).get("cost_usd_micros")).isEqualTo(p.microUsd(1100, 0, 0, 420));
            assertThat(limiter.admin().config(gpt4o).orElseThrow().budgets()).extracting(Budget::toString)
                    .containsExactly("usd=50/1d", "usd=1000/month");
        }
    }
}
