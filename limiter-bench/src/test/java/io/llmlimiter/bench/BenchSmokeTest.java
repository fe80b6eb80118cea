package io.llmlimiter.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Runs the whole bench, tiny sizes, against a throwaway Redis, so the jar's code path cannot rot.
 * Checks behaviour, never speed: every number the issue asks for is there and positive, and
 * under overload llm-limiter admits what its budget allows.
 */
@WithRedis
class BenchSmokeTest {

    private static final List<String> REQUIRED = List.of("floor.ops_64", "limiter.ops_1", "limiter.ops_16",
            "limiter.ops_64", "limiter.p50_us", "limiter.p99_us", "redisson.ops_64", "bucket4j.ops_64",
            "overload.limiter.redis_cpu_us_per_admit", "overload.redisson.redis_cpu_us_per_admit",
            "memory.limiter.bytes_per_request", "memory.redisson.bytes_per_permit", "ratios.ops_64_vs_floor",
            "ratios.ops_64_vs_redisson", "ratios.cpu_per_admit_vs_redisson", "ratios.bytes_vs_redisson",
            "limiter_1000_targets.ops_64", "scale.cpu_per_admit_large_vs_small");

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void smokeRunReportsEveryNumberAndKeepsTheBudget(RedisProcess redis, @TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        Path md = dir.resolve("bench.md");

        int exit = new CommandLine(new BenchMain()).execute("--redis", redis.uri(), "--smoke",
                "--json-file", json.toString(), "--markdown-file", md.toString());

        assertThat(exit).isZero();
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        for (String path : REQUIRED) {
            assertThat(at(root, path).isNumber()).as(path + " is a number").isTrue();
            assertThat(at(root, path).asDouble()).as(path).isPositive();
        }
        assertThat(root.path("limiter").path("errors").asLong()).as("limiter errors").isZero();

        JsonNode overload = root.path("overload");
        JsonNode ours = overload.path("limiter");
        double allowed = overload.path("budget_per_s").asDouble() * overload.path("window_s").asDouble();
        assertThat(ours.path("admitted").asDouble()).as("admitted in the window vs budget x window")
                .isCloseTo(allowed, withinPercentage(15));
        assertThat(ours.path("errors").asLong()).as("overload errors").isZero();
        // An admitted call is at most an acquire and a complete; batch admission and completions
        // that need no script make it less, but never nothing.
        assertThat(ours.path("round_trips_per_admit").asDouble()).isPositive().isLessThanOrEqualTo(2.0);
        assertThat(ours.path("script_round_trips_per_admit").asDouble()).isPositive().isLessThanOrEqualTo(2.0);
        assertThat(ours.path("counters_per_admit").path("completed").asDouble()).isGreaterThan(0.9);

        assertThat(md.toFile()).content().contains("### Throughput", "### Overload", "### Scale", "### Memory", "### Targets");
    }

    private static JsonNode at(JsonNode root, String dotted) {
        JsonNode n = root;
        for (String part : dotted.split("\\.")) {
            n = n.path(part);
        }
        return n;
    }
}
