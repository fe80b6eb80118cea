package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.server.AdminServer;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

@WithRedis
class HealthCheckCommandTest {

    @Test
    void theHealthCheckCommandExitsZeroWhileUpAndOneWhenRedisOrTheServerIsDown(RedisProcess redis) throws IOException {
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
                AdminServer server = AdminServer.builder().admin(limiter.admin()).redis(redis.uri())
                        .token("test-admin-token-0123456789abcdef")
                        .configFile(Files.createTempDirectory("llmlim-health-").resolve("llm_configs.json"))
                        .host("127.0.0.1").port(0).start()) {
            String url = server.url() + "/health";
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
        try (ServerSocket probe = new ServerSocket(0)) {
            freePort = probe.getLocalPort();
        }
        assertThat(healthCheck("--url", "http://127.0.0.1:" + freePort + "/health", "--timeout", "2s")).isEqualTo(1);
        assertThat(healthCheck("--timeout", "forever")).isEqualTo(2);
    }

    private static int healthCheck(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(new StringWriter(), true));
        cl.setErr(new PrintWriter(new StringWriter(), true));
        String[] all = new String[args.length + 1];
        all[0] = "health-check";
        System.arraycopy(args, 0, all, 1, args.length);
        return cl.execute(all);
    }
}
