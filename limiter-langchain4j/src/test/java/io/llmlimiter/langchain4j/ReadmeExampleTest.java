package io.llmlimiter.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.openai.OpenAiChatModel;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.ReadmeBlocks;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The README's "With LangChain4j" example, as written there, run against the mock provider. */
@WithRedis
class ReadmeExampleTest {

    private static final Path SOURCE = Path.of("src/test/java/io/llmlimiter/langchain4j/ReadmeExampleTest.java");

    @Test
    void theReadmeShowsThisExample() {
        assertThat(ReadmeBlocks.marked(SOURCE)).isEqualTo(ReadmeBlocks.readme("### With LangChain4j", "java", 0));
    }

    @Test
    void theExampleRuns(RedisProcess redis) {
        try (MockProvider provider = MockProvider.start(MockProviderConfig.builder()
                .requests(10, Duration.ofSeconds(1)).tokens(100_000, Duration.ofSeconds(1)).build())) {
            String baseUrl = provider.baseUrl() + "/v1";
            String redisUri = redis.uri();
            String apiKey = "test-key";

            // README:begin
            // baseUrl: https://api.openai.com/v1, redisUri: redis://localhost:6379
            Target target = Targets.forEndpoint(URI.create(baseUrl), "gpt-4o-mini"); // openai/gpt-4o-mini
            try (LlmLimiter limiter = LlmLimiter.builder().redis(redisUri)
                    .config(LimitConfig.builder(target).limits("requests=500/60s,tokens=200000/60s").build())
                    .build()) {
                ChatModel model = LlmLimited.chatModel(OpenAiChatModel.builder()
                        .baseUrl(baseUrl).apiKey(apiKey).modelName("gpt-4o-mini").maxTokens(200)
                        .maxRetries(0) // the limiter owns the retry loop
                        .build(), limiter, target);
                String answer = model.chat("Say hello.");
                System.out.println(answer);
            }
            // README:end

            assertThat(provider.successCount()).isEqualTo(1);
            try (LlmLimiter admin = LlmLimiter.builder().redis(redisUri).build()) {
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(admin.admin().stats(target))
                        .containsEntry("admitted", 1L)
                        .containsEntry("actual_output_tokens", 120L)); // 60% of maxTokens 200
            }
            assertThat(Targets.forEndpoint(URI.create("https://api.openai.com/v1"), "gpt-4o-mini"))
                    .hasToString("openai/gpt-4o-mini");
        }
    }
}
