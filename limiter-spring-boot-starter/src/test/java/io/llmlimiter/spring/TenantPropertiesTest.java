package io.llmlimiter.spring;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.client.FairShare;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TenantUsage;
import io.llmlimiter.client.internal.Keys;
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

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code llmlimiter.tenant} and {@code llmlimiter.priority}: the wrapped model's calls are made for them. */
@WithRedis
class TenantPropertiesTest {

    private static final Target TARGET = new Target("scripted", "fair-model");

    /** Answers every prompt at once. */
    static final class AnsweringModel implements ChatModel {

        @Override
        public ChatResponse call(Prompt prompt) {
            return new ChatResponse(List.of(new Generation(AssistantMessage.builder().content("ok").build())));
        }

        @Override
        public ChatOptions getDefaultOptions() {
            return getOptions();
        }

        @Override
        public ChatOptions getOptions() {
            return ChatOptions.builder().model("fair-model").maxTokens(50).build();
        }
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LlmLimiterAutoConfiguration.class))
            .withBean(ChatModel.class, AnsweringModel::new)
            .withBean(ChatTargetResolver.class, () -> (model, prompt, modelName, tenant) -> TARGET);

    @Test
    void aModelCallIsAcquiredForTheConfiguredTenantAndPriorityClass(RedisProcess redis) {
        runner.withPropertyValues("llmlimiter.redis=" + redis.uri(), "llmlimiter.tenant=search",
                        "llmlimiter.priority=batch")
                .run(ctx -> {
                    LlmLimiter limiter = ctx.getBean(LlmLimiter.class);
                    limiter.admin().putConfig(LimitConfig.builder(TARGET).limits("requests=100/1m")
                            .fairShare(FairShare.builder().build()).build());

                    String answer = ctx.getBean(ChatModel.class).call("hello");

                    assertThat(answer).isEqualTo("ok");
                    assertThat(limiter.admin().tenants(TARGET)).extracting(TenantUsage::tenant, TenantUsage::requests)
                            .containsExactly(org.assertj.core.groups.Tuple.tuple("search", 1L));
                    // The classes rank interactive 1, batch 2, background 3: only batch was served.
                    RedisClient client = RedisClient.create(redis.uri());
                    try (StatefulRedisConnection<String, String> c = client.connect()) {
                        Map<String, String> tn = c.sync().hgetall(Keys.of(TARGET).tenants());
                        assertThat(tn).containsKey("cs:2").doesNotContainKeys("cs:1", "cs:3");
                    } finally {
                        client.shutdown();
                    }
                });
    }

    @Test
    void aBadTenantOrPriorityStopsTheStartNamingTheProperty(RedisProcess redis) {
        runner.withPropertyValues("llmlimiter.redis=" + redis.uri(), "llmlimiter.priority=urgent")
                .run(ctx -> assertThat(ctx).hasFailed().getFailure().rootCause()
                        .hasMessageContaining("llmlimiter.priority").hasMessageContaining("urgent"));
        runner.withPropertyValues("llmlimiter.redis=" + redis.uri(), "llmlimiter.tenant=no spaces please")
                .run(ctx -> assertThat(ctx).hasFailed().getFailure().rootCause()
                        .hasMessageContaining("llmlimiter.tenant"));
    }
}
