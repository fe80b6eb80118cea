package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

@WithRedis
class HealthTest {

    @Test
    void healthReportsRedisLatencyAndA503WhileRedisIsDown(RedisProcess redis) throws IOException {
        try (TestServer s = TestServer.start(redis.uri())) {
            HttpResponse<String> up = s.send("GET", "/health", null, null, null);
            assertThat(up.statusCode()).isEqualTo(200);
            JsonNode body = json(up);
            assertThat(body.get("status").asText()).isEqualTo("UP");
            assertThat(body.get("redis").get("reachable").asBoolean()).isTrue();
            assertThat(body.get("redis").get("latency_ms").asDouble()).isPositive();

            redis.stop();
            try {
                HttpResponse<String> down = s.send("GET", "/health", null, null, null);
                assertThat(down.statusCode()).isEqualTo(503);
                assertThat(json(down).get("status").asText()).isEqualTo("DOWN");

                HttpResponse<String> write = s.send("PUT", "/api/v1/targets/health/m", "{\"limits\":\"requests=1/1s\"}");
                assertThat(write.statusCode()).isEqualTo(503);
                assertThat(write.headers().firstValue("Content-Type")).hasValue("application/problem+json");
                assertThat(json(write).get("type").asText()).isEqualTo("urn:llmlimiter:problem:redis-unavailable");
            } finally {
                redis.restart();
            }
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> s.send("GET", "/health", null, null, null).statusCode() == 200);
        }
    }
}
