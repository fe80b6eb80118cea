package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.testing.FaultProxy;
import io.llmlimiter.testing.RedisProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The server's Redis connection is cut while an import is under way, at different points: the
 * import lands whole or not at all, and a failed one never reaches the config file half applied.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImportFaultTest {

    private static final int TARGETS = 30;

    private RedisProcess redis;
    private FaultProxy proxy;
    private RedisClient client;
    private StatefulRedisConnection<String, String> raw;
    private LlmLimiter limiter;
    private AdminServer server;
    private Path file;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    void start() throws IOException {
        redis = RedisProcess.start();
        proxy = FaultProxy.start(redis);
        client = RedisClient.create(redis.uri());
        raw = client.connect();
        limiter = LlmLimiter.builder().redis(redis.uri()).build();
        file = Files.createTempDirectory("llmlim-import-fault-").resolve("llm_configs.json");
        // Only the server's config connection goes through the proxy.
        server = AdminServer.builder().admin(limiter.admin()).redis(proxy.uri()).token(TestServer.TOKEN)
                .configFile(file).host("127.0.0.1").port(0).reconcileInterval(Duration.ofMinutes(10)).start();
    }

    @AfterAll
    void stop() {
        server.close();
        limiter.close();
        raw.close();
        client.shutdown();
        proxy.close();
        redis.close();
    }

    @ParameterizedTest(name = "cut {0} ms into the import")
    @ValueSource(ints = {0, 150, 300, 450, 550, 650, 800, 1000, 3000})
    void anImportCutOffPartWayLandsWholeOrNotAtAll(int cutAfterMs) throws Exception {
        StringBuilder body = new StringBuilder("{");
        for (int i = 0; i < TARGETS; i++) {
            body.append(i == 0 ? "" : ",").append("\"t").append(i).append("\": {\"provider\": \"cut").append(cutAfterMs)
                    .append("\", \"model\": \"m").append(i).append("\", \"limits\": \"requests=").append(i + 1)
                    .append("/1s\"}");
        }
        body.append("}");
        proxy.latency(Duration.ofMillis(60));
        HttpRequest request = HttpRequest.newBuilder(URI.create(server.url() + "/api/v1/import"))
                .header("Authorization", "Bearer " + TestServer.TOKEN).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();

        CompletableFuture<HttpResponse<String>> sent = http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
        CompletableFuture.delayedExecutor(cutAfterMs, TimeUnit.MILLISECONDS).execute(proxy::cut);
        HttpResponse<String> r = sent.get(40, TimeUnit.SECONDS);
        Thread.sleep(cutAfterMs);
        proxy.heal();

        assertThat(r.statusCode()).as(r.body()).isIn(200, 503);
        long inRedis = count(cutAfterMs);
        assertThat(inRedis).as("targets of the import in Redis").isIn(0L, (long) TARGETS);
        String onDisk = Files.readString(file);
        System.out.println("cut after " + cutAfterMs + " ms: import answered " + r.statusCode() + ", " + inRedis
                + " of " + TARGETS + " targets in Redis");
        if (r.statusCode() == 200) {
            assertThat(inRedis).isEqualTo(TARGETS);
            assertThat(onDisk).contains("cut" + cutAfterMs + "/m" + (TARGETS - 1));
        } else {
            assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).contains("problem+json"));
            assertThat(onDisk).as("a failed import reaches the file not at all").doesNotContain("cut" + cutAfterMs + "/");
        }
        // Once Redis is reachable again, the file follows Redis: all of the import or none.
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
                .until(() -> server.reconciler().reconcileOnce() >= 0);
        String after = Files.readString(file);
        for (int i = 0; i < TARGETS; i++) {
            assertThat(after.contains("\"cut" + cutAfterMs + "/m" + i + "\"")).isEqualTo(inRedis == TARGETS);
        }
    }

    private long count(int cutAfterMs) {
        return raw.sync().keys("llmlim:{cut" + cutAfterMs + "/*}:cfg").size();
    }
}
