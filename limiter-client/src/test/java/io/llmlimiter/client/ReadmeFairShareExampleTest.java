package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.testing.ReadmeBlocks;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The README's "Tenants, priorities and fair share" example and config, as written there. */
@WithRedis
class ReadmeFairShareExampleTest {

    private static final Path SOURCE = Path.of("src/test/java/io/llmlimiter/client/ReadmeFairShareExampleTest.java");
    private static final String HEADING = "### Tenants, priorities and fair share";

    @Test
    void theReadmeShowsThisExample() {
        assertThat(ReadmeBlocks.marked(SOURCE)).isEqualTo(ReadmeBlocks.readme(HEADING, "java", 0));
    }

    @Test
    void theReadmeConfigIsValidAndMeansWhatItSays() {
        LimitConfig c = LimitConfig.fromJson(ReadmeBlocks.readme(HEADING, "json", 0));

        assertThat(c.fairShare().shareOf("search")).isEqualTo(TenantShare.weight(5).reserve(0.2));
        assertThat(c.fairShare().shareOf("etl").capLimits()).containsExactly(Limit.parse("tokens=20000/60s"));
        assertThat(c.fairShare().shareOf("someone-else").weight()).isEqualTo(1);
        assertThat(c.fairShare().aging()).isEqualTo(Duration.ofSeconds(10));
        assertThat(LimitConfig.fromJson(c.toJson())).isEqualTo(c);
    }

    @Test
    void theExampleRuns(RedisProcess redis) {
        String redisUri = redis.uri();
        // README:begin
        Target gpt4o = Target.parse("openai/gpt-4o");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redisUri).build()) {
            limiter.admin().putConfig(LimitConfig.builder(gpt4o).limits("requests=500/60s,tokens=30000/60s")
                    .fairShare(FairShare.builder()
                            .tenant("search", TenantShare.weight(5).reserve(0.2))
                            .tenant("etl", TenantShare.weight(1).cap("tokens=20000/60s"))
                            .build())
                    .build());

            // A person waits: interactive (the class of calls that name none).
            String answer = limiter.execute(gpt4o, Tenant.of("search", Priority.INTERACTIVE),
                    Estimate.of(1200, 500), ctx -> "an answer");
            // A nightly job: it yields to interactive calls, and to other teams by weight.
            try (Permit permit = limiter.acquire(gpt4o, Tenant.of("etl", Priority.BATCH),
                    Estimate.of(3000, 1000), Duration.ofMinutes(5))) {
                permit.complete(Usage.of(2800, 900));
            }
        }
        // README:end
        try (LlmLimiter admin = LlmLimiter.builder().redis(redisUri).build()) {
            assertThat(admin.admin().stats(gpt4o)).containsEntry("admitted", 2L);
        }
    }
}
