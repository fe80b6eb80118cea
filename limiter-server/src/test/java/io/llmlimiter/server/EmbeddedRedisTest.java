package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class EmbeddedRedisTest {

    @Test
    void theBinaryShippedInTheEmbeddedRedisJarServesTheLimiter() throws IOException {
        try (EmbeddedRedis redis = EmbeddedRedis.startBundled();
             LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            assertThat(redis.source()).isEqualTo("the embedded-redis binary");
            assertThat(redis.port()).isNotEqualTo(6379);
            assertThat(limiter.admin().config(Target.parse("embedded/check"))).isEmpty();
        }
    }

    @Test
    void aDevRedisFromThePathOrTheJarStartsOnAFreePortAndStopsOnClose() throws IOException {
        EmbeddedRedis redis = EmbeddedRedis.start();
        String uri = redis.uri();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(uri).build()) {
            assertThat(limiter.admin().targets()).isEmpty();
        } finally {
            redis.close();
        }
        assertThat(uri).startsWith("redis://127.0.0.1:").doesNotEndWith(":6379");
    }
}
