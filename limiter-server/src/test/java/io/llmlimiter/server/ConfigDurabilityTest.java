package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Configs survive Redis losing them, a server restart, and changes made straight to Redis. */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigDurabilityTest {

    private static final Target GPT4 = Target.parse("openai/gpt-4");
    private static final Target DEEPSEEK = Target.parse("deepseek/deepseek-chat");

    private RedisProcess redis;
    private RedisClient client;
    private StatefulRedisConnection<String, String> raw;
    private LlmLimiter worker;
    private Path dir;
    private AdminServer server;
    private LlmLimiter serverLimiter;

    @BeforeAll
    void connect(RedisProcess redis) {
        this.redis = redis;
        client = RedisClient.create(redis.uri());
        raw = client.connect();
        worker = LlmLimiter.builder().redis(redis.uri()).build();
    }

    @AfterAll
    void disconnect() {
        worker.close();
        raw.close();
        client.shutdown();
    }

    @BeforeEach
    void startServer() throws IOException {
        raw.sync().flushall();
        dir = Files.createTempDirectory("llmlim-durability-");
        startServerOn(dir.resolve("llm_configs.json"), Duration.ofMinutes(10));
    }

    private void startServerOn(Path file, Duration reconcile) throws IOException {
        serverLimiter = LlmLimiter.builder().redis(redis.uri()).build();
        server = AdminServer.builder().admin(serverLimiter.admin()).redis(redis.uri()).token(TestServer.TOKEN).configFile(file)
                .host("127.0.0.1").port(0).reconcileInterval(reconcile).start();
    }

    @AfterEach
    void stopServer() {
        server.close();
        serverLimiter.close();
    }

    @Test
    void configsLostByAFlushedRedisAreRestoredEvenOverAWorkersDefault() throws IOException {
        raw.sync().flushall();
        // A worker uses the target before the reconciler runs: it writes the conservative default.
        worker.tryAcquire(DEEPSEEK, Estimate.requestOnly()).ifPresent(p -> p.close());
        assertThat(worker.admin().config(DEEPSEEK).orElseThrow().limits()).containsExactly(Limit.parse("requests=10/60s"));

        int restored = server.reconciler().reconcileOnce();

        // The three targets and the default config.
        assertThat(restored).isEqualTo(4);
        assertThat(worker.admin().config(DEEPSEEK).orElseThrow().limits()).containsExactly(Limit.parse("requests=100/60s"));
        assertThat(worker.admin().config(GPT4).orElseThrow().limits()).containsExactly(Limit.parse("requests=500/60s"));
        assertThat(worker.admin().defaultConfig()).isPresent();
        assertThat(Files.readString(dir.resolve("audit.log"))).contains("\"action\":\"restore\"");
    }

    @Test
    void aSingleLostConfigIsRestoredAndOneAWorkerDefaultedMeanwhileToo() {
        // Lost, config and revision both (a deletion through a server would leave a tombstone).
        raw.sync().del("llmlim:{openai/gpt-4}:cfg", "llmlim:{deepseek/deepseek-chat}:cfg", "llmlim:{openai/gpt-4}:rev",
                "llmlim:{deepseek/deepseek-chat}:rev");
        worker.tryAcquire(DEEPSEEK, Estimate.requestOnly()).ifPresent(p -> p.close());

        server.reconciler().reconcileOnce();

        assertThat(worker.admin().config(GPT4).orElseThrow().limits()).containsExactly(Limit.parse("requests=500/60s"));
        assertThat(worker.admin().config(DEEPSEEK).orElseThrow().limits()).containsExactly(Limit.parse("requests=100/60s"));
    }

    @Test
    void aConfigChangedStraightInRedisIsAdoptedIntoTheFile() throws IOException {
        LimitConfig changed = worker.admin().config(GPT4).orElseThrow().toBuilder().limits("requests=321/60s").build();
        worker.admin().putConfig(changed);
        worker.admin().putConfig(LimitConfig.builder(Target.parse("direct/new")).limits("tokens=99/1s").build());

        server.reconciler().reconcileOnce();

        String file = Files.readString(dir.resolve("llm_configs.json"));
        assertThat(file).contains("\"amount\" : 321").contains("\"direct/new\"");
        assertThat(Files.readString(dir.resolve("audit.log"))).contains("\"action\":\"adopt\"");
        assertThat(worker.admin().config(GPT4)).hasValue(changed);
    }

    @Test
    void aTargetAWorkerMerelyDefaultedIsNotAdopted() throws IOException {
        worker.tryAcquire(Target.parse("unknown/model"), Estimate.requestOnly()).ifPresent(p -> p.close());

        server.reconciler().reconcileOnce();

        assertThat(Files.readString(dir.resolve("llm_configs.json"))).doesNotContain("unknown/model");
    }

    @Test
    void aRestartedServerOnAnEmptyRedisRestoresEveryConfigFromItsFile() throws IOException {
        LimitConfig custom = LimitConfig.builder(Target.parse("durable/one")).limits("requests=7/1s,tokens=700/1m")
                .maxConcurrent(2).build();
        server.store().put(ConfigDocument.of(custom), "test");
        stopServer();
        raw.sync().flushall();

        startServerOn(dir.resolve("llm_configs.json"), Duration.ofMinutes(10));

        assertThat(worker.admin().config(Target.parse("durable/one"))).hasValue(custom);
        assertThat(worker.admin().config(GPT4)).isPresent();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("llm_configs.json", ".llm_configs.json.synced", "audit.log");
        }
    }

    @Test
    void theSeedsConfigFileIsReadAsIsAndGetsADefaultConfig() throws IOException {
        stopServer();
        raw.sync().flushall();
        Path seedDir = Files.createTempDirectory("llmlim-seedfile-");
        Path file = seedDir.resolve("llm_configs.json");
        Files.writeString(file, ImportExportTest.SEED_FILE);

        startServerOn(file, Duration.ofMinutes(10));

        assertThat(worker.admin().config(Target.parse("deepseek/deepseek-reasoner")).orElseThrow().limits())
                .containsExactly(Limit.parse("requests=60/60s"));
        assertThat(worker.admin().config(Target.parse("mistral/mistral-large"))).isPresent();
        assertThat(worker.admin().defaultConfig().orElseThrow().limits()).containsExactly(Limit.parse("requests=10/60s"));
        assertThat(Files.readString(file)).contains("\"_default\"");
    }

    @Test
    void anInvalidConfigFileStopsTheServerFromStartingAndNamesTheEntry() throws IOException {
        Path bad = Files.createTempDirectory("llmlim-badfile-").resolve("llm_configs.json");
        Files.writeString(bad, "{\"broken\":{\"provider\":\"p\",\"model\":\"m\",\"requests_per_minute\":0}}");

        assertThatThrownBy(() -> AdminServer.builder().admin(worker.admin()).redis(redis.uri()).token(TestServer.TOKEN).configFile(bad)
                .host("127.0.0.1").port(0).start())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("broken: requests_per_minute");
    }

    @Test
    void theBackgroundReconcilerRestoresConfigsWithinSecondsOfARedisRestart() throws IOException {
        stopServer();
        startServerOn(dir.resolve("llm_configs.json"), Duration.ofMillis(500));
        server.store().put(ConfigDocument.of(LimitConfig.builder(Target.parse("durable/restart")).limits("requests=3/1s")
                .build()), "test");

        redis.restart();

        await().atMost(Duration.ofSeconds(15)).ignoreExceptions().untilAsserted(() -> {
            assertThat(worker.admin().config(Target.parse("durable/restart"))).isPresent();
            assertThat(worker.admin().config(GPT4)).isPresent();
            assertThat(worker.admin().defaultConfig()).isPresent();
        });
    }
}
