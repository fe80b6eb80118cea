package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImportExportTest {

    /** The seed project's data/llm_configs.json, as it was. */
    static final String SEED_FILE = """
            {
              "deepseek_reasoner": {
                "provider": "deepseek", "model": "deepseek-reasoner", "requests_per_minute": 60, "max_concurrent": 5,
                "max_retries": 3, "base_retry_delay": 1.0, "is_tested": true, "last_test_date": "2024-05-01",
                "test_notes": "measured with test_actual_api_limits"
              },
              "mistral_large": {
                "provider": "mistral", "model": "mistral-large", "requests_per_minute": 30, "max_concurrent": 2,
                "max_retries": 5, "base_retry_delay": 2.0, "is_tested": false, "last_test_date": null, "test_notes": ""
              }
            }""";

    private TestServer s;

    @BeforeAll
    void start(RedisProcess redis) throws IOException {
        s = TestServer.start(redis.uri());
    }

    @AfterAll
    void stop() {
        s.close();
    }

    @Test
    void theSeedsFileShapeImportsAsIs() {
        HttpResponse<String> r = s.send("POST", "/api/v1/import", SEED_FILE);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("created").asInt()).isEqualTo(2);
        LimitConfig reasoner = s.limiter.admin().config(Target.parse("deepseek/deepseek-reasoner")).orElseThrow();
        assertThat(reasoner.limits()).containsExactly(Limit.parse("requests=60/60s"));
        assertThat(reasoner.maxConcurrent()).isEqualTo(5);
        // The probe record is the server's: served over REST and kept in the file, not in the client's config.
        JsonNode served = json(s.get("/api/v1/targets/deepseek/deepseek-reasoner"));
        assertThat(served.get("is_tested").asBoolean()).isTrue();
        assertThat(served.get("last_test_date").asText()).isEqualTo("2024-05-01");
        assertThat(served.get("test_notes").asText()).isEqualTo("measured with test_actual_api_limits");
        JsonNode mistral = json(s.get("/api/v1/targets/mistral/mistral-large"));
        assertThat(mistral.get("is_tested").asBoolean()).isFalse();
        assertThat(mistral.has("last_test_date")).isFalse();
        assertThat(mistral.get("test_notes").asText()).isEmpty();
        // The seed's file predates the delivery margin: its configs get the default.
        assertThat(reasoner.deliveryMargin()).isEqualTo(LimitConfig.DEFAULT_DELIVERY_MARGIN);
        assertThat(s.limiter.admin().config(Target.parse("mistral/mistral-large")).orElseThrow().retry().maxRetries())
                .isEqualTo(5);
    }

    @Test
    void theDeliveryMarginIsImportedAndExported() {
        HttpResponse<String> r = s.send("POST", "/api/v1/import",
                "{\"margin\": {\"provider\":\"margin\",\"model\":\"m\",\"limits\":\"requests=5/1s\",\"delivery_margin_ms\":80}}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(s.limiter.admin().config(Target.parse("margin/m")).orElseThrow().deliveryMargin())
                .isEqualTo(java.time.Duration.ofMillis(80));
        assertThat(json(s.get("/api/v1/export")).get("margin/m").get("delivery_margin_ms").asLong()).isEqualTo(80);
    }

    @Test
    void theProbeRecordRoundTripsThroughExportAndImportAndAChangeToItIsAChange() throws IOException {
        HttpResponse<String> first = s.send("POST", "/api/v1/import", """
                {"probed": {"provider": "imp", "model": "probed", "limits": "requests=5/1s", "is_tested": true,
                            "last_test_date": "2026-11-30", "test_notes": "requests 6/1s (headers)"}}""");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);

        JsonNode exported = json(s.get("/api/v1/export"));
        JsonNode entry = exported.get("imp/probed");
        assertThat(entry.get("is_tested").asBoolean()).isTrue();
        assertThat(entry.get("last_test_date").asText()).isEqualTo("2026-11-30");
        assertThat(entry.get("test_notes").asText()).isEqualTo("requests 6/1s (headers)");
        assertThat(ConfigSet.parse(ConfigJson.MAPPER.readTree(Files.readString(s.configFile()))).targets()
                .get(Target.parse("imp/probed")).probe())
                .isEqualTo(new ProbeRecord(true, "2026-11-30", "requests 6/1s (headers)"));

        HttpResponse<String> same = s.send("POST", "/api/v1/import", exported.toString());
        assertThat(json(same).get("replaced").asInt()).as(same.body()).isZero();

        ((com.fasterxml.jackson.databind.node.ObjectNode) entry).put("test_notes", "probed again");
        HttpResponse<String> changed = s.send("POST", "/api/v1/import", exported.toString());

        assertThat(json(changed).get("replaced").asInt()).as(changed.body()).isEqualTo(1);
        JsonNode served = json(s.get("/api/v1/targets/imp/probed"));
        assertThat(served.get("test_notes").asText()).isEqualTo("probed again");
        assertThat(served.get("last_test_date").asText()).isEqualTo("2026-11-30");
        assertThat(served.at("/limits/0/amount").asLong()).isEqualTo(5);
    }

    @Test
    void anExportImportsBackWithoutChangingAnything() {
        JsonNode exported = json(s.get("/api/v1/export"));
        assertThat(exported.has("_default")).isTrue();
        assertThat(exported.has("openai/gpt-4")).isTrue();

        HttpResponse<String> r = s.send("POST", "/api/v1/import", exported.toString());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("created").asInt()).isZero();
        assertThat(json(r).get("replaced").asInt()).isZero();
        assertThat(json(r).get("unchanged").asInt()).isEqualTo(exported.size() - 1);
    }

    @Test
    void replaceModeDeletesTheTargetsNotListed() {
        s.send("PUT", "/api/v1/targets/imp/keep", "{\"limits\":\"requests=1/1s\"}");
        s.send("PUT", "/api/v1/targets/imp/drop", "{\"limits\":\"requests=1/1s\"}");
        JsonNode exported = json(s.get("/api/v1/export"));
        ((com.fasterxml.jackson.databind.node.ObjectNode) exported).remove("imp/drop");

        HttpResponse<String> r = s.send("POST", "/api/v1/import?mode=replace", exported.toString());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("deleted").asInt()).isEqualTo(1);
        assertThat(s.limiter.admin().config(Target.parse("imp/drop"))).isEmpty();
        assertThat(s.limiter.admin().config(Target.parse("imp/keep"))).isPresent();
    }

    @Test
    void anImportThatCannotBeSavedToTheFileIsRolledBackInRedis() throws IOException {
        LimitConfig gpt4 = s.limiter.admin().config(Target.parse("openai/gpt-4")).orElseThrow();
        List<Target> before = s.limiter.admin().targets();
        Path file = s.configFile();
        String saved = Files.readString(file);
        // A non-empty directory where the file should be: the atomic move over it fails.
        Files.delete(file);
        Files.createDirectories(file.resolve("blocker"));
        try {
            HttpResponse<String> r = s.send("POST", "/api/v1/import", """
                    [{"provider":"imp","model":"rolled-back","requests_per_minute":1},
                     {"provider":"openai","model":"gpt-4","requests_per_minute":1}]""");

            assertThat(r.statusCode()).isEqualTo(500);
            assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(json(r).get("type").asText()).isEqualTo("urn:llmlimiter:problem:storage-failed");
            assertThat(s.limiter.admin().targets()).isEqualTo(before);
            assertThat(s.limiter.admin().config(Target.parse("openai/gpt-4"))).hasValue(gpt4);
        } finally {
            Files.delete(file.resolve("blocker"));
            Files.delete(file);
            Files.writeString(file, saved);
        }
    }
}
