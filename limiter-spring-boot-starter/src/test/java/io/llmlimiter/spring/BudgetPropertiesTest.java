package io.llmlimiter.spring;

import io.llmlimiter.client.BudgetExceededException;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A dollar budget in a target's {@code limits} property: parsed as any config's, enforced by the fleet. */
@WithRedis
class BudgetPropertiesTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LlmLimiterAutoConfiguration.class));

    @Test
    void aUsdBudgetGivenInTheLimitsPropertyReachesRedisAndRefusesACallThatWouldPassIt(RedisProcess redis) {
        // Priced from the bundled table: gpt-4o at $2.50 in, $10 out per million tokens.
        Target target = Target.parse("openai/gpt-4o-2024-08-06");
        runner.withPropertyValues("llmlimiter.redis=" + redis.uri(),
                        "llmlimiter.targets[0].name=" + target,
                        "llmlimiter.targets[0].limits=requests=100/1m,usd=5/1d")
                .run(ctx -> {
                    LlmLimiter limiter = ctx.getBean(LlmLimiter.class);
                    // 1000 in and 300,000 out: about $3 each, so a second call would pass $5 a day.
                    Estimate call = Estimate.of(1000, 300_000);
                    limiter.acquire(target, call, Duration.ofSeconds(5)).close();

                    LimitConfig config = limiter.admin().config(target).orElseThrow();
                    assertThat(config.budgets()).extracting(Object::toString).containsExactly("usd=5/1d");
                    assertThatThrownBy(() -> limiter.acquire(target, call, Duration.ofHours(1)))
                            .isInstanceOfSatisfying(BudgetExceededException.class,
                                    e -> assertThat(e.budget()).isEqualTo("usd=5/1d"));
                });
    }

    /** Answers every prompt; asks for 300,000 output tokens, about $3 a call at gpt-4o's prices. */
    static final class CountingModel implements ChatModel {

        final AtomicInteger calls = new AtomicInteger();

        @Override
        public ChatResponse call(Prompt prompt) {
            calls.incrementAndGet();
            return new ChatResponse(List.of(new Generation(AssistantMessage.builder().content("ok").build())));
        }

        @Override
        public ChatOptions getDefaultOptions() {
            return getOptions();
        }

        @Override
        public ChatOptions getOptions() {
            return ChatOptions.builder().model("gpt-4o-2024-11-20").maxTokens(300_000).build();
        }
    }

    @Test
    void aModelCallThatWouldPassTheBudgetFailsAtOnceWithoutReachingTheModel(RedisProcess redis) {
        Target target = Target.parse("openai/gpt-4o-2024-11-20");
        CountingModel model = new CountingModel();
        runner.withBean(ChatModel.class, () -> model)
                .withBean(ChatTargetResolver.class, () -> (m, prompt, modelName, tenant) -> target)
                .withPropertyValues("llmlimiter.redis=" + redis.uri(),
                        "llmlimiter.targets[0].name=" + target,
                        "llmlimiter.targets[0].limits=requests=100/1m,usd=5/1d")
                .run(ctx -> {
                    ChatModel chat = ctx.getBean(ChatModel.class);
                    assertThat(chat.call("hello")).isEqualTo("ok");

                    assertThatThrownBy(() -> chat.call("hello again"))
                            .isInstanceOfSatisfying(BudgetExceededException.class,
                                    e -> assertThat(e.budget()).isEqualTo("usd=5/1d"));
                    assertThat(model.calls).hasValue(1);
                    assertThat(ctx.getBean(LlmLimiter.class).admin().stats(target)).doesNotContainKey("retries");
                });
    }

    @Test
    void aBadBudgetInTheLimitsPropertyStopsTheStartNamingIt(RedisProcess redis) {
        runner.withPropertyValues("llmlimiter.redis=" + redis.uri(),
                        "llmlimiter.targets[0].name=openai/gpt-4o",
                        "llmlimiter.targets[0].limits=requests=100/1m,usd=five/1d")
                .run(ctx -> assertThat(ctx).hasFailed().getFailure().rootCause().hasMessageContaining("usd"));
    }
}
