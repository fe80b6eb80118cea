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

    @Test
    void theHealthCheckCommandExitsZeroWhileUpAndOneWhenRedisOrTheServerIsDown(RedisProcess redis) throws IOException {
        try (TestServer s = TestServer.start(redis.uri())) {
            String url = s.server.url() + "/health";
            assertThat(healthCheck("--url", url)).isZero();
            redis.stop();
            try {
                assertThat(healthCheck("--url", url, "--timeout", "3s")).isEqualTo(1);
            } finally {
                redis.restart();
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> healthCheck("--url", url) == 0);
        }
        int freePort;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            freePort = probe.getLocalPort();
        }
        assertThat(healthCheck("--url", "http://127.0.0.1:" + freePort + "/health", "--timeout", "2s")).isEqualTo(1);
        assertThat(healthCheck("--timeout", "forever")).isEqualTo(2);
    }

    private static int healthCheck(String... args) {
        picocli.CommandLine cl = Main.commandLine();
        cl.setOut(new java.io.PrintWriter(new java.io.StringWriter(), true));
        cl.setErr(new java.io.PrintWriter(new java.io.StringWriter(), true));
        String[] all = new String[args.length + 1];
        all[0] = "health-check";
        System.arraycopy(args, 0, all, 1, args.length);
        return cl.execute(all);
    }
}
