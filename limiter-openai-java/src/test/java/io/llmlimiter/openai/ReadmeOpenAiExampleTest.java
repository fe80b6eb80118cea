package io.llmlimiter.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.core.ClientOptions;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The README's "With the OpenAI SDK" example, as written there, against the mock provider. */
@WithRedis
class ReadmeOpenAiExampleTest {

    @Test
    void theReadmeExampleRuns(RedisProcess redis) {
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             MockProvider provider = MockProvider.start(MockProviderConfig.builder().completionTokens(5).build())) {
            String apiKey = "test-key";
            String baseUrl = provider.baseUrl() + "/v1";
            Target gpt4o = Targets.forEndpoint(URI.create(baseUrl), "gpt-4o");
            limiter.admin().putConfig(LimitConfig.builder(gpt4o).limits("requests=10/1s").build());

            OpenAIClient client = LimitedOpenAi.client(limiter, ClientOptions.builder().apiKey(apiKey).baseUrl(baseUrl));
            ChatCompletion answer = client.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model("gpt-4o").addUserMessage("Hello").maxCompletionTokens(500).build());

            // A stream holds its permit until it ends, then records the usage of its last chunk.
            ChatCompletionCreateParams streamed = ChatCompletionCreateParams.builder().model("gpt-4o").addUserMessage("Hello")
                    .maxCompletionTokens(500).streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
            try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(streamed)) {
                stream.stream().forEach(chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(System.out::print)));
            }

            assertThat(answer.usage().orElseThrow().completionTokens()).isEqualTo(5);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> limiter.admin().stats(gpt4o).getOrDefault("actual_output_tokens", 0L) == 10);
            assertThat(limiter.admin().stats(gpt4o)).containsEntry("admitted", 2L);
            client.close();
        }
    }
}
