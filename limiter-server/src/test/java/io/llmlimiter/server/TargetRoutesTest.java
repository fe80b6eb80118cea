package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TargetRoutesTest {

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
    void firstStartSeedsTheSeedsDefaultsIntoRedisAndTheFile() throws IOException {
        assertThat(s.limiter.admin().config(Target.parse("deepseek/deepseek-chat")).orElseThrow().limits())
                .containsExactly(Limit.parse("requests=100/60s"));
        assertThat(s.limiter.admin().config(Target.parse("anthropic/claude-3-5-sonnet")).orElseThrow().limits())
                .containsExactly(Limit.parse("requests=50/60s"));
        assertThat(s.limiter.admin().config(Target.parse("openai/gpt-4")).orElseThrow().limits())
                .containsExactly(Limit.parse("requests=500/60s"));
        assertThat(s.limiter.admin().defaultConfig().orElseThrow().limits()).containsExactly(Limit.parse("requests=10/60s"));
        JsonNode file = TestServer.json(Files.readString(s.configFile()));
        assertThat(file.has("_default")).isTrue();
        assertThat(file.get("openai/gpt-4").get("limits").get(0).get("amount").asLong()).isEqualTo(500);
    }

    @Test
    void listReturnsEveryConfiguredTarget() {
        HttpResponse<String> r = s.get("/api/v1/targets");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        List<String> names = new ArrayList<>();
        json(r).get("targets").forEach(t -> names.add(t.get("provider").asText() + "/" + t.get("model").asText()));
        assertThat(names).contains("deepseek/deepseek-chat", "anthropic/claude-3-5-sonnet", "openai/gpt-4");
    }

    @Test
    void createThenGetReturnsTheConfigAndWritesRedisTheFileAndTheAuditLog() throws IOException {
        HttpResponse<String> created = s.send("POST", "/api/v1/targets", """
                {"provider":"crud","model":"create-1","limits":"requests=20/2s,tokens=4000/2s","max_concurrent":3}""");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(created.headers().firstValue("Location")).hasValue("/api/v1/targets/crud/create-1");
        HttpResponse<String> got = s.get("/api/v1/targets/crud/create-1");
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(json(got).get("max_concurrent").asInt()).isEqualTo(3);
        LimitConfig inRedis = s.limiter.admin().config(Target.parse("crud/create-1")).orElseThrow();
        assertThat(Limit.formatAll(inRedis.limits())).isEqualTo("requests=20/2s,tokens=4000/2s");
        assertThat(Files.readString(s.configFile())).contains("\"crud/create-1\"");
        assertThat(Files.readString(s.auditLog())).contains("\"action\":\"create\"").contains("\"target\":\"crud/create-1\"");
    }

    @Test
    void creatingATargetThatExistsIsAConflictAndChangesNothing() {
        s.send("PUT", "/api/v1/targets/crud/conflict", "{\"limits\":\"requests=5/1s\"}");
        HttpResponse<String> again = s.send("POST", "/api/v1/targets",
                "{\"provider\":\"crud\",\"model\":\"conflict\",\"limits\":\"requests=9/1s\"}");
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(again.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(Limit.formatAll(s.limiter.admin().config(Target.parse("crud/conflict")).orElseThrow().limits()))
                .isEqualTo("requests=5/1s");
    }

    @Test
    void putCreatesThenReplaces() {
        HttpResponse<String> first = s.send("PUT", "/api/v1/targets/crud/put-1", "{\"limits\":\"requests=5/1s\"}");
        HttpResponse<String> second = s.send("PUT", "/api/v1/targets/crud/put-1", """
                {"provider":"crud","model":"put-1","limits":[{"resource":"requests","amount":7,"window":"1s"}]}""");
        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(s.limiter.admin().config(Target.parse("crud/put-1")).orElseThrow().limits())
                .containsExactly(Limit.parse("requests=7/1s"));
    }

    @Test
    void patchMergesOnlyTheGivenFields() {
        s.send("PUT", "/api/v1/targets/crud/patch-1", "{\"limits\":\"requests=5/1s,tokens=100/1m\",\"max_concurrent\":4}");
        HttpResponse<String> r = s.send("PATCH", "/api/v1/targets/crud/patch-1", "{\"max_concurrent\":9}",
                "application/merge-patch+json", TestServer.TOKEN);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        LimitConfig c = s.limiter.admin().config(Target.parse("crud/patch-1")).orElseThrow();
        assertThat(c.maxConcurrent()).isEqualTo(9);
        assertThat(Limit.formatAll(c.limits())).isEqualTo("requests=5/1s,tokens=100/60s");
    }

    @Test
    void patchingRequestsPerMinuteReplacesThePerMinuteRequestLimit() {
        s.send("PUT", "/api/v1/targets/crud/patch-rpm", "{\"requests_per_minute\":100,\"limits\":\"tokens=1000/60s\"}");
        HttpResponse<String> r = s.send("PATCH", "/api/v1/targets/crud/patch-rpm", "{\"requests_per_minute\":200}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(s.limiter.admin().config(Target.parse("crud/patch-rpm")).orElseThrow().limits())
                .containsExactlyInAnyOrder(Limit.parse("tokens=1000/60s"), Limit.parse("requests=200/60s"));
    }

    @Test
    void patchingATargetWithoutConfigIsNotFound() {
        HttpResponse<String> r = s.send("PATCH", "/api/v1/targets/crud/nothing-here", "{\"max_concurrent\":1}");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(s.limiter.admin().config(Target.parse("crud/nothing-here"))).isEmpty();
    }

    @Test
    void deleteRemovesTheConfigFromRedisAndTheFile() throws IOException {
        s.send("PUT", "/api/v1/targets/crud/delete-1", "{\"limits\":\"requests=5/1s\"}");
        HttpResponse<String> r = s.send("DELETE", "/api/v1/targets/crud/delete-1", null);
        assertThat(r.statusCode()).isEqualTo(204);
        assertThat(s.limiter.admin().config(Target.parse("crud/delete-1"))).isEmpty();
        // The file keeps a tombstone, so no older copy brings the target back.
        ConfigSet onDisk = new ConfigFile(s.configFile()).read().orElseThrow();
        assertThat(onDisk.targets()).doesNotContainKey(Target.parse("crud/delete-1"));
        assertThat(onDisk.tombstones()).containsKey(Target.parse("crud/delete-1"));
        assertThat(s.send("DELETE", "/api/v1/targets/crud/delete-1", null).statusCode()).isEqualTo(404);
    }

    @Test
    void theDefaultConfigCanBeReadAndReplaced() {
        HttpResponse<String> before = s.get("/api/v1/default");
        assertThat(json(before).get("limits").get(0).get("amount").asLong()).isEqualTo(10);
        HttpResponse<String> r = s.send("PUT", "/api/v1/default", "{\"limits\":\"requests=12/60s\",\"max_concurrent\":2}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(Limit.formatAll(s.limiter.admin().defaultConfig().orElseThrow().limits())).isEqualTo("requests=12/60s");
        s.send("PUT", "/api/v1/default", "{\"requests_per_minute\":10,\"max_concurrent\":1}");
    }

    @Test
    void theAuditLogRouteShowsTheLatestChanges() {
        s.send("PUT", "/api/v1/targets/crud/audited", "{\"limits\":\"requests=5/1s\"}");
        JsonNode entries = json(s.get("/api/v1/audit?limit=5")).get("entries");
        JsonNode last = entries.get(entries.size() - 1);
        assertThat(last.get("target").asText()).isEqualTo("crud/audited");
        assertThat(last.get("after").get("limits").get(0).get("amount").asLong()).isEqualTo(5);
        assertThat(last.get("time").asText()).isNotBlank();
    }

    @Test
    void aModelWithSlashesRoutesWithPlainAndWithEncodedSlashes() throws IOException {
        Target router = Target.parse("openrouter/openai/gpt-4o");
        HttpResponse<String> put = s.send("PUT", "/api/v1/targets/openrouter/openai/gpt-4o", "{\"limits\":\"requests=7/1s\"}");
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        assertThat(json(put).get("provider").asText()).isEqualTo("openrouter");
        assertThat(json(put).get("model").asText()).isEqualTo("openai/gpt-4o");
        assertThat(s.limiter.admin().config(router).orElseThrow().limits()).containsExactly(Limit.parse("requests=7/1s"));
        assertThat(Files.readString(s.configFile())).contains("\"openrouter/openai/gpt-4o\"");

        HttpResponse<String> encoded = s.get("/api/v1/targets/openrouter/openai%2Fgpt-4o");
        assertThat(encoded.statusCode()).as(encoded.body()).isEqualTo(200);
        assertThat(json(encoded).get("model").asText()).isEqualTo("openai/gpt-4o");
        HttpResponse<String> patched = s.send("PATCH", "/api/v1/targets/openrouter/openai%2fgpt-4o",
                "{\"max_concurrent\":4}");
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
        assertThat(s.limiter.admin().config(router).orElseThrow().maxConcurrent()).isEqualTo(4);

        for (String path : new String[] {"/api/v1/targets/openrouter/openai/gpt-4o/stats",
                "/api/v1/targets/openrouter/openai%2Fgpt-4o/stats"}) {
            HttpResponse<String> stats = s.get(path);
            assertThat(stats.statusCode()).as(path + " " + stats.body()).isEqualTo(200);
            assertThat(json(stats).get("target").asText()).isEqualTo("openrouter/openai/gpt-4o");
        }
        assertThat(s.send("POST", "/api/v1/targets/openrouter/openai/gpt-4o/reset", null).statusCode()).isEqualTo(204);
        List<String> names = new ArrayList<>();
        json(s.get("/api/v1/targets")).get("targets")
                .forEach(t -> names.add(t.get("provider").asText() + "/" + t.get("model").asText()));
        assertThat(names).contains("openrouter/openai/gpt-4o");

        HttpResponse<String> created = s.send("POST", "/api/v1/targets", """
                {"provider":"together","model":"meta-llama/Llama-3.3-70B-Instruct-Turbo","limits":"requests=3/1s"}""");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String location = created.headers().firstValue("Location").orElseThrow();
        assertThat(location).isEqualTo("/api/v1/targets/together/meta-llama%2FLlama-3.3-70B-Instruct-Turbo");
        assertThat(json(s.get(location)).get("model").asText()).isEqualTo("meta-llama/Llama-3.3-70B-Instruct-Turbo");

        assertThat(s.send("DELETE", "/api/v1/targets/openrouter/openai/gpt-4o", null).statusCode()).isEqualTo(204);
        assertThat(s.limiter.admin().config(router)).isEmpty();
        assertThat(s.get("/api/v1/targets/openrouter/openai%2Fgpt-4o").statusCode()).isEqualTo(404);
    }

    @Test
    void aTrailingStatsOrResetSegmentIsTheSubResourceSoSuchAModelIsSentEncoded() {
        HttpResponse<String> put = s.send("PUT", "/api/v1/targets/odd/x%2Fstats", "{\"limits\":\"requests=2/1s\"}");
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        assertThat(s.limiter.admin().config(Target.parse("odd/x/stats"))).isPresent();
        assertThat(json(s.get("/api/v1/targets/odd/x%2Fstats")).get("model").asText()).isEqualTo("x/stats");
        assertThat(json(s.get("/api/v1/targets/odd/x%2Fstats/stats")).get("target").asText()).isEqualTo("odd/x/stats");
        // Plain, the last segment names the stats of odd/x, which has no config.
        assertThat(s.get("/api/v1/targets/odd/x/stats").statusCode()).isEqualTo(404);
        assertThat(s.limiter.admin().config(Target.parse("odd/x"))).isEmpty();
    }
}
