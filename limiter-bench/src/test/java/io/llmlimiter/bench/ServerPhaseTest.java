package io.llmlimiter.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs the server phase, tiny sizes, so its code path cannot rot. Checks behaviour, never speed. */
@WithRedis
class ServerPhaseTest {

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void theServerPhaseTimesBothRoutesOverEveryTargetAndLeavesNoTargetBehind(RedisProcess redis, @TempDir Path dir)
            throws Exception {
        Path json = dir.resolve("server.json");

        int exit = new CommandLine(new BenchMain()).execute("--redis", redis.uri(), "--smoke", "--phase", "server",
                "--json-file", json.toString());

        assertThat(exit).isZero();
        JsonNode s = new ObjectMapper().readTree(json.toFile()).path("server");
        assertThat(s.path("targets").asInt()).isEqualTo(100);
        for (String series : new String[] {"metrics_stale", "stats_stale", "metrics_cached", "stats_cached"}) {
            assertThat(s.path(series).path("p50_ms").asDouble()).as(series).isPositive();
            assertThat(s.path(series).path("max_ms").asDouble()).as(series)
                    .isGreaterThanOrEqualTo(s.path(series).path("p50_ms").asDouble());
        }
        assertThat(s.path("snapshot_reads").asLong()).isPositive();
        // Every target is in both bodies: the stats list them, the metrics carry their meters.
        assertThat(s.path("stats_bytes").asLong()).isGreaterThan(100 * 200L);
        assertThat(s.path("metrics_bytes").asLong()).isGreaterThan(100 * 1000L);
        try (RedisClient client = RedisClient.create(redis.uri());
             StatefulRedisConnection<String, String> c = client.connect()) {
            assertThat(c.sync().keys("llmlim:{bench/*")).isEmpty();
        }
    }
}
