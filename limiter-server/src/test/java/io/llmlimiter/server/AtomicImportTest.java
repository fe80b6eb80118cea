package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisProcess;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * An import is all or nothing: a real Redis refuses one of its writes part way (an ACL user that
 * may not write one target's keys), and nothing of the import reaches Redis or the config file.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AtomicImportTest {

    private static final String PASSWORD = "limited-user-password-0123";

    private RedisProcess redis;
    private RedisClient client;
    private StatefulRedisConnection<String, String> raw;
    private TestServer s;

    @BeforeAll
    void start() throws IOException {
        redis = RedisProcess.start();
        client = RedisClient.create(redis.uri());
        raw = client.connect();
        // May touch every limiter key except those of targets whose provider starts with "z".
        raw.sync().aclSetuser("limited", io.lettuce.core.AclSetuserArgs.Builder.on().addPassword(PASSWORD)
                .allChannels().allCommands().keyPattern("llmlim:{[^z]*"));
        String uri = "redis://limited:" + PASSWORD + "@" + redis.host() + ":" + redis.port();
        s = TestServer.start(uri, Files.createTempDirectory("llmlim-atomic-"), Duration.ofMinutes(10));
    }

    @AfterAll
    void stop() {
        s.close();
        raw.close();
        client.shutdown();
        redis.close();
    }

    @Test
    void anImportRedisRefusesPartWayChangesNothingInRedisOrTheFile() throws IOException {
        assertThat(s.send("PUT", "/api/v1/targets/atomic/one", "{\"limits\":\"requests=1/1s\"}").statusCode())
                .isEqualTo(201);
        Path file = s.dir.resolve("llm_configs.json");
        String fileBefore = Files.readString(file);
        String auditBefore = Files.readString(s.dir.resolve("audit.log"));
        List<Target> targetsBefore = s.limiter.admin().targets();
        String body = """
                {
                  "a": {"provider": "atomic", "model": "one", "limits": "requests=2/1s"},
                  "b": {"provider": "atomic", "model": "two", "limits": "requests=2/1s"},
                  "c": {"provider": "zz", "model": "refused", "limits": "requests=2/1s"}
                }""";

        HttpResponse<String> r = s.send("POST", "/api/v1/import?mode=replace", body);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).contains("problem+json"));
        assertThat(json(r).get("detail").asText()).contains("nothing was changed");
        assertThat(s.limiter.admin().config(Target.parse("atomic/one")).orElseThrow().limits().get(0).amount())
                .isEqualTo(1);
        assertThat(s.limiter.admin().config(Target.parse("atomic/two"))).isEmpty();
        assertThat(s.limiter.admin().targets()).isEqualTo(targetsBefore);
        assertThat(Files.readString(file)).isEqualTo(fileBefore);
        assertThat(Files.readString(s.dir.resolve("audit.log"))).isEqualTo(auditBefore);
        // A reconciler pass afterwards finds nothing half applied to copy into the file.
        s.server.reconciler().reconcileOnce();
        assertThat(Files.readString(file)).isEqualTo(fileBefore);

        // The same import without the refused target goes through whole.
        HttpResponse<String> ok = s.send("POST", "/api/v1/import", body.replace(",\n  \"c\": {\"provider\": \"zz\", "
                + "\"model\": \"refused\", \"limits\": \"requests=2/1s\"}", ""));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(s.limiter.admin().config(Target.parse("atomic/two"))).isPresent();
        assertThat(s.limiter.admin().config(Target.parse("atomic/one")).orElseThrow().limits().get(0).amount())
                .isEqualTo(2);
        assertThat(Files.readString(file)).contains("atomic/two");
    }

    @Test
    void anExportIsOneSnapshotWithRevisions() {
        s.send("PUT", "/api/v1/targets/atomic/exported", "{\"limits\":\"requests=3/1s\"}");

        HttpResponse<String> r = s.get("/api/v1/export");

        assertThat(r.statusCode()).isEqualTo(200);
        long rev = json(r).get("atomic/exported").get("revision").asLong();
        assertThat(raw.sync().hget("llmlim:{atomic/exported}:rev", "rev")).isEqualTo(Long.toString(rev));
        // An export imports back as is: revisions in the input are accepted and ignored.
        HttpResponse<String> back = s.send("POST", "/api/v1/import", r.body());
        assertThat(back.statusCode()).as(back.body()).isEqualTo(200);
        assertThat(json(back).get("created").asInt() + json(back).get("replaced").asInt()).isZero();
    }
}
