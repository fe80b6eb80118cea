package io.llmlimiter.spring;

import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.ReadmeBlocks;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.boot.CommandLineRunner;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The README's "With Spring AI" example, as written there: its application.yml and its bean run
 * against the mock provider (the endpoint and Redis replaced, the target kept as {@code openai/gpt-4o-mini}).
 */
@WithRedis
class ReadmeExampleTest {

    private static final Path SOURCE = Path.of("src/test/java/io/llmlimiter/spring/ReadmeExampleTest.java");
    private static final String HEADING = "### With Spring AI";

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {

        // README:begin
        @Bean
        CommandLineRunner hello(ChatClient.Builder chat) {
            return args -> System.out.println(chat.build().prompt("Say hello.").call().content());
        }
        // README:end
    }

    @Test
    void theReadmeShowsThisBean() {
        assertThat(ReadmeBlocks.marked(SOURCE)).isEqualTo(ReadmeBlocks.readme(HEADING, "java", 0));
    }

    @Test
    void theExampleRunsWithTheReadmesApplicationYml(RedisProcess redis, @TempDir Path dir) throws Exception {
        Path yml = dir.resolve("application.yml");
        Files.writeString(yml, ReadmeBlocks.readme(HEADING, "yaml", 0));
        try (MockProvider provider = MockProvider.start(MockProviderConfig.builder()
                .requests(10, Duration.ofSeconds(1)).tokens(100_000, Duration.ofSeconds(1)).build());
             ConfigurableApplicationContext app = new SpringApplicationBuilder(App.class)
                     .web(WebApplicationType.NONE)
                     .run("--spring.config.additional-location=file:" + yml,
                             "--OPENAI_API_KEY=test-key",
                             "--spring.ai.openai.base-url=" + provider.baseUrl() + "/v1",
                             "--llmlimiter.redis=" + redis.uri(),
                             "--llmlimiter.spring-ai.provider=openai")) {
            assertThat(provider.successCount()).isEqualTo(1);
            Target target = Target.parse("openai/gpt-4o-mini");
            LlmLimiter limiter = app.getBean(LlmLimiter.class);
            assertThat(limiter.admin().config(target)).hasValueSatisfying(c ->
                    assertThat(c.limits()).hasToString("[requests=500/60s, tokens=200000/60s]"));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(limiter.admin().stats(target))
                    .containsEntry("admitted", 1L).containsEntry("actual_output_tokens", 120L));
        }
    }
}
