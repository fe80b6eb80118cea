package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisClusterProcess;
import io.llmlimiter.testing.RedisWire;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Configs and their revisions on a real Redis Cluster: each target's change is one transaction on its slot. */
@Tag("redis-features")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterConfigTest {

    private RedisClusterProcess cluster;
    private TestServer s;

    @BeforeAll
    void start() throws IOException {
        cluster = RedisClusterProcess.start();
        s = TestServer.start(cluster.clusterUri(), Files.createTempDirectory("llmlim-cluster-"), Duration.ofMinutes(10));
    }

    @AfterAll
    void stop() {
        if (s != null) {
            s.close();
        }
        cluster.close();
    }

    private String rev(Target t) {
        String key = "llmlim:{" + t + "}:rev";
        return String.valueOf(RedisWire.call(cluster.portForKey(key), "HGET", key, "rev"));
    }

    @Test
    void importsDeletesAndRestoresWorkTargetByTargetWithRevisions() {
        String body = """
                {"a": {"provider": "cl", "model": "one", "limits": "requests=2/1s"},
                 "b": {"provider": "cl", "model": "two", "limits": "requests=3/1s"},
                 "c": {"provider": "other", "model": "three", "limits": "requests=4/1s"}}""";
        HttpResponse<String> r = s.send("POST", "/api/v1/import", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        // One revision for the whole import, on every slot it touched.
        String rev = rev(Target.parse("cl/one"));
        assertThat(rev(Target.parse("cl/two"))).isEqualTo(rev);
        assertThat(rev(Target.parse("other/three"))).isEqualTo(rev);
        assertThat(json(s.get("/api/v1/export")).get("cl/two").get("revision").asText()).isEqualTo(rev);

        assertThat(s.send("DELETE", "/api/v1/targets/cl/two", null).statusCode()).isEqualTo(204);
        String tombstone = "llmlim:{cl/two}:rev";
        assertThat(String.valueOf(RedisWire.call(cluster.portForKey(tombstone), "HGET", tombstone, "deleted")))
                .isEqualTo("1");

        // Lost from its node: restored from the file on the next pass.
        String cfg = "llmlim:{cl/one}:cfg";
        RedisWire.call(cluster.portForKey(cfg), "DEL", cfg, "llmlim:{cl/one}:rev");
        s.server.reconciler().reconcileOnce();
        assertThat(s.limiter.admin().config(Target.parse("cl/one"))).isPresent();
        assertThat(s.limiter.admin().config(Target.parse("cl/two"))).isEmpty();
        assertThat(s.server.reconciler().reconcileOnce()).isZero();
    }
}
