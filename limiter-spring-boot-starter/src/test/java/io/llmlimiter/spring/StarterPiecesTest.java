package io.llmlimiter.spring;

import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.testing.RedisProcess;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.mock.env.MockEnvironment;

import static org.assertj.core.api.Assertions.assertThat;

/** The starter's parts on their own: health when Redis is away, the retry switch, opting out. */
class StarterPiecesTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LlmLimiterAutoConfiguration.class));

    @Test
    void theHealthIndicatorIsDownWhenRedisCannotBeReached() {
        int port = RedisProcess.reservePort(); // nothing listens there
        runner.withPropertyValues("llmlimiter.redis=redis://127.0.0.1:" + port, "llmlimiter.command-timeout=1s")
                .run(ctx -> {
                    assertThat(ctx).hasSingleBean(LlmLimiter.class);
                    assertThat(ctx.getBean(LlmLimiterHealthIndicator.class).health().getStatus())
                            .isEqualTo(Status.DOWN);
                });
    }

    @Test
    void disabledMeansNoLimiterAndNoWrapping() {
        runner.withPropertyValues("llmlimiter.enabled=false")
                .run(ctx -> assertThat(ctx).doesNotHaveBean(LlmLimiter.class)
                        .doesNotHaveBean(LlmLimiterHealthIndicator.class));
    }

    @Test
    void springAisRetriesAreTurnedOffOverTheApplicationsOwnSetting() {
        MockEnvironment env = new MockEnvironment().withProperty("spring.ai.openai.max-retries", "3");

        new SpringAiRetriesOff().postProcessEnvironment(env, null);

        assertThat(env.getProperty("spring.ai.openai.max-retries")).isEqualTo("0");
        assertThat(env.getProperty("spring.ai.retry.max-attempts")).isEqualTo("0");
    }

    @Test
    void theApplicationKeepsItsRetriesWhenItSaysSo() {
        MockEnvironment env = new MockEnvironment().withProperty("spring.ai.openai.max-retries", "3")
                .withProperty("llmlimiter.spring-ai.disable-model-retries", "false");

        new SpringAiRetriesOff().postProcessEnvironment(env, null);

        assertThat(env.getProperty("spring.ai.openai.max-retries")).isEqualTo("3");
        StandardEnvironment off = new StandardEnvironment();
        off.getPropertySources().addFirst(new org.springframework.core.env.MapPropertySource("t",
                java.util.Map.of("llmlimiter.enabled", "false")));
        new SpringAiRetriesOff().postProcessEnvironment(off, null);
        assertThat(off.getProperty("spring.ai.retry.max-attempts")).isNull();
    }
}
