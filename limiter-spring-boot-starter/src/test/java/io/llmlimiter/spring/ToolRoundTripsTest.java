package io.llmlimiter.spring;

import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.annotation.Tool;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Spring AI's real {@link ChatClient} runs the tool loop around a limited model: each model round
 * trip is its own admission. The model is a scripted one (a tool call, then an answer), so the
 * loop can be seen without a provider that calls tools.
 */
@WithRedis
class ToolRoundTripsTest {

    /** Asks for the weather tool first, answers with its result second. */
    static final class ScriptedModel implements ChatModel {

        final AtomicInteger calls = new AtomicInteger();

        @Override
        public ChatResponse call(Prompt prompt) {
            calls.incrementAndGet();
            Message last = prompt.getInstructions().get(prompt.getInstructions().size() - 1);
            if (last instanceof ToolResponseMessage tool) {
                return new ChatResponse(List.of(new Generation(AssistantMessage.builder()
                        .content("The weather is " + tool.getResponses().get(0).responseData()).build())));
            }
            return new ChatResponse(List.of(new Generation(AssistantMessage.builder().content("")
                    .toolCalls(List.of(new AssistantMessage.ToolCall("call-1", "function", "weather", "{}")))
                    .build())));
        }

        @Override
        public ChatOptions getDefaultOptions() {
            return getOptions();
        }

        @Override
        public ChatOptions getOptions() {
            return ToolCallingChatOptions.builder().model("scripted").maxTokens(50).build();
        }
    }

    static final class Weather {

        final AtomicInteger asked = new AtomicInteger();

        @Tool(description = "The weather now")
        String weather() {
            asked.incrementAndGet();
            return "sunny";
        }
    }

    @Test
    void eachRoundTripOfTheToolLoopIsOneAdmission(RedisProcess redis) {
        Target target = Targets.of("scripted", "scripted");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri())
                .config(LimitConfig.builder(target).limits("requests=100/60s").build()).build()) {
            ScriptedModel model = new ScriptedModel();
            LimitedChatModel limited = new LimitedChatModel(model, () -> limiter,
                    (m, prompt, modelName, tenant) -> Targets.of("scripted", modelName), null, 1024);
            Weather weather = new Weather();

            String answer = ChatClient.builder(limited).build().prompt("What is the weather?").tools(weather)
                    .call().content();

            assertThat(answer).isEqualTo("The weather is \"sunny\"");
            assertThat(weather.asked).hasValue(1);
            assertThat(model.calls).hasValue(2);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(limiter.admin().stats(target)).containsEntry("admitted", 2L));
        }
    }
}
