package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** One worker's 429 pauses a worker in another JVM: one 429 must not become a storm. */
@WithRedis
class SharedCooldownTest {

    @Test
    void a429InOneJvmPausesTheNextAcquireOfAnother(RedisProcess redis) throws Exception {
        Target target = Target.parse("openai/cooldown");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             StubProvider provider = new StubProvider()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("requests=1000/1s")
                    .retry(new RetrySettings(3, Duration.ofMillis(10), Duration.ofSeconds(5), Duration.ofSeconds(30)))
                    .build());
            try (JvmProcess other = JvmProcess.start(CooldownWatcher.class, redis.uri(), target.toString(),
                    Long.toString(System.currentTimeMillis() + 12_000))) {
                await().atMost(Duration.ofSeconds(30)).until(() -> admissions(other).size() >= 3);

                provider.then(429, Map.of("retry-after", "2"), "{\"error\":{\"message\":\"Rate limit reached\"}}");
                limiter.execute(target, Estimate.requestOnly(), provider::chat);
                long end = cooldownEnd(redis, target);
                assertThat(other.process().waitFor(60, TimeUnit.SECONDS)).as(other.output()).isTrue();

                List<Long> seen = admissions(other);
                // The cooldown was written at end - 2 s: no admission of the other JVM falls inside it.
                assertThat(end).as("cooldown end").isPositive();
                assertThat(seen).noneMatch(a -> a >= end - 2_000_000 && a < end);
                assertThat(seen).anyMatch(a -> a >= end);
            }
        }
    }

    private static long cooldownEnd(RedisProcess redis, Target target) {
        try (RedisClient client = RedisClient.create(redis.uri());
             StatefulRedisConnection<String, String> c = client.connect()) {
            String v = c.sync().hget("llmlim:{" + target + "}:st", "cooldown");
            return v == null ? 0 : Long.parseLong(v);
        }
    }

    private static List<Long> admissions(JvmProcess p) {
        return p.output().lines().filter(l -> l.startsWith("ADMIT ")).map(l -> Long.parseLong(l.substring(6))).toList();
    }
}
