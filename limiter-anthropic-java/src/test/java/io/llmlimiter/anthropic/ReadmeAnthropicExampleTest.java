package io.llmlimiter.anthropic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
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

/** The README's "With the Anthropic SDK" example, as written there, against the mock provider. */
@WithRedis
class ReadmeAnthropicExampleTest {

    @Test
    void theReadmeExampleRuns(RedisProcess redis) {
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             MockProvider provider = MockProvider.start(MockProviderConfig.builder().completionTokens(5).build())) {
            String apiKey = "test-key";
            String baseUrl = provider.baseUrl();
            Target sonnet = Targets.forEndpoint(URI.create(baseUrl), "claude-sonnet-4-5");
            limiter.admin().putConfig(LimitConfig.builder(sonnet).limits("requests=10/1s").build());

            AnthropicClient client = LimitedAnthropic.client(limiter,
                    AnthropicOkHttpClient.builder().apiKey(apiKey).baseUrl(baseUrl).build());
            Message answer = client.messages().create(MessageCreateParams.builder()
                    .model("claude-sonnet-4-5").maxTokens(500).addUserMessage("Hello").build());

            // Or on the SDK's builder: the interceptor, and the SDK's own retries off.
            AnthropicClient same = AnthropicOkHttpClient.builder().apiKey(apiKey).baseUrl(baseUrl)
                    .addInterceptor(LimitedAnthropic.builder(limiter).interceptor()).maxRetries(0).build();

            same.messages().create(MessageCreateParams.builder()
                    .model("claude-sonnet-4-5").maxTokens(500).addUserMessage("Hello").build());
            assertThat(answer.usage().outputTokens()).isEqualTo(5);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> limiter.admin().stats(sonnet).getOrDefault("actual_output_tokens", 0L) == 10);
            assertThat(limiter.admin().stats(sonnet)).containsEntry("admitted", 2L);
            client.close();
            same.close();
        }
    }
}
