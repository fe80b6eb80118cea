package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The probe record ({@code is_tested}, {@code last_test_date}, {@code test_notes}) is the admin
 * server's: it travels with the stored config document through REST, Redis, the config file and
 * the reconciler, while clients read the same document and see only the limits.
 */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProbeRecordTest {

    private static final Target T = Target.parse("probed/model");
    private static final String ONE = "/api/v1/targets/probed/model";

    private String uri;
    private RedisClient client;
    private StatefulRedisConnection<String, String> raw;
    private LlmLimiter worker;
    private Path dir;

    @BeforeAll
    void connect(RedisProcess redis) {
        uri = redis.uri();
        client = RedisClient.create(uri);
        raw = client.connect();
        worker = LlmLimiter.builder().redis(uri).build();
    }

    @AfterAll
    void disconnect() {
        worker.close();
        raw.close();
        client.shutdown();
    }

    @BeforeEach
    void emptyRedisAndDirectory() throws IOException {
        raw.sync().flushall();
        dir = Files.createTempDirectory("llmlim-probe-record-");
    }

    private TestServer server() throws IOException {
        // Passes run only when a test asks: what is in Redis and the file is what the test made.
        return TestServer.start(uri, dir, Duration.ofMinutes(10));
    }

    @Test
    void aProbeRecordPutWithAConfigSurvivesAPatchOfTheLimitsAndARestartFromTheFile() throws IOException {
        try (TestServer s = server()) {
            HttpResponse<String> put = s.send("PUT", ONE, """
                    {"limits": "requests=7/1s", "accounting": "actual", "is_tested": true,
                     "last_test_date": "2026-11-30", "test_notes": "requests 8/1s (headers)"}""");
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            HttpResponse<String> putDefault = s.send("PUT", "/api/v1/default", """
                    {"requests_per_minute": 20, "is_tested": true, "test_notes": "the default, measured"}""");
            assertThat(putDefault.statusCode()).as(putDefault.body()).isEqualTo(200);
            assertThat(json(putDefault).get("test_notes").asText()).isEqualTo("the default, measured");

            HttpResponse<String> patch = s.send("PATCH", ONE, "{\"limits\": \"requests=5/1s\"}",
                    "application/merge-patch+json", TestServer.TOKEN);

            assertThat(patch.statusCode()).as(patch.body()).isEqualTo(200);
            assertProbed(json(patch), 5);
            assertThat(Files.readString(s.auditLog())).contains("\"action\":\"patch\"")
                    .contains("\"test_notes\":\"requests 8/1s (headers)\"");
        }
        // The server stops and Redis loses everything: only the config file is left.
        raw.sync().flushall();

        try (TestServer s = server()) {
            assertProbed(json(s.get(ONE)), 5);
            JsonNode def = json(s.get("/api/v1/default"));
            assertThat(def.get("is_tested").asBoolean()).isTrue();
            assertThat(def.get("test_notes").asText()).isEqualTo("the default, measured");
            assertThat(def.at("/limits/0/amount").asLong()).isEqualTo(20);
            JsonNode listed = json(s.get("/api/v1/targets")).get("targets");
            assertThat(listed).anySatisfy(c -> {
                assertThat(c.get("model").asText()).isEqualTo("model");
                assertProbed(c, 5);
            });
        }
        // Redis holds the whole document; a client reads it and keeps only the limits.
        assertThat(raw.sync().hget("llmlim:{probed/model}:cfg", "json")).contains("\"test_notes\":\"requests 8/1s (headers)\"");
        assertThat(worker.admin().config(T).orElseThrow().limits()).containsExactly(Limit.parse("requests=5/1s"));
        assertThat(worker.admin().config(T).orElseThrow().toJson()).doesNotContain("test_notes");
    }

    @Test
    void aProbeRecordChangedStraightInRedisIsAdoptedIntoTheFile() throws IOException {
        try (TestServer s = server()) {
            s.send("PUT", ONE, "{\"limits\": \"requests=7/1s\", \"is_tested\": true, \"test_notes\": \"first\"}");
            String key = "llmlim:{probed/model}:cfg";
            ObjectNode doc = (ObjectNode) json(raw.sync().hget(key, "json"));
            doc.put("test_notes", "edited in Redis").put("last_test_date", "2026-12-01");
            raw.sync().hset(key, "json", doc.toString());

            s.server.reconciler().reconcileOnce();

            ConfigDocument onDisk = ConfigSet.parse(json(Files.readString(s.configFile()))).targets().get(T);
            assertThat(onDisk.probe()).isEqualTo(new ProbeRecord(true, "2026-12-01", "edited in Redis"));
            assertThat(json(s.get(ONE)).get("test_notes").asText()).isEqualTo("edited in Redis");
        }
    }

    @Test
    void aPatchCanClearTheProbeRecordAndKeepsTheLimits() throws IOException {
        try (TestServer s = server()) {
            s.send("PUT", ONE, """
                    {"limits": "requests=7/1s", "is_tested": true, "last_test_date": "2026-11-30", "test_notes": "x"}""");

            HttpResponse<String> patch = s.send("PATCH", ONE,
                    "{\"is_tested\": null, \"last_test_date\": null, \"test_notes\": null}",
                    "application/merge-patch+json", TestServer.TOKEN);

            JsonNode body = json(patch);
            assertThat(body.get("is_tested").asBoolean()).isFalse();
            assertThat(body.has("last_test_date")).isFalse();
            assertThat(body.has("test_notes")).isFalse();
            assertThat(body.at("/limits/0/amount").asLong()).isEqualTo(7);
            assertThat(ConfigSet.parse(json(Files.readString(s.configFile()))).targets().get(T).probe())
                    .isEqualTo(ProbeRecord.NONE);
        }
    }

    private static void assertProbed(JsonNode c, long requestsPerSecond) {
        assertThat(c.get("is_tested").asBoolean()).as(c.toString()).isTrue();
        assertThat(c.get("last_test_date").asText()).isEqualTo("2026-11-30");
        assertThat(c.get("test_notes").asText()).isEqualTo("requests 8/1s (headers)");
        assertThat(c.at("/limits/0/amount").asLong()).isEqualTo(requestsPerSecond);
        assertThat(c.get("accounting").asText()).isEqualTo("actual");
    }
}
