package io.llmlimiter.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
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
            "limiter_1000_targets.ops_64", "scale.cpu_per_admit_large_vs_small",
            "tenants.tenants_1.redis_cpu_us_per_admit", "tenants.tenants_10.redis_cpu_us_per_admit",
            "tenants.tenants_10.redis_commands_per_admit", "tenants.tenants_10.script_round_trips_per_admit",
            "tenants.tenants_10.admitted_per_s", "ratios.tenants_cpu_per_admit_10_vs_1");

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

        // Fair sharing: every admitted call is one of the tenants' (read from Redis at both edges of
        // the window), and the tenants goal is reported.
        JsonNode tenants = root.path("tenants");
        for (String arm : List.of("tenants_1", "tenants_10")) {
            assertThat(tenants.path(arm).path("errors").asLong()).as(arm + " errors").isZero();
        }
        JsonNode shares = tenants.path("tenants_10").path("shares");
        assertThat(shares).hasSize(10);
        long admitted = 0;
        double weightShares = 0;
        for (JsonNode s : shares) {
            assertThat(s.path("admitted").asLong()).as(s.path("tenant").asText()).isNotNegative();
            admitted += s.path("admitted").asLong();
            weightShares += s.path("weight_share").asDouble();
        }
        assertThat(admitted).as("admitted over the 10 tenants in the window").isPositive();
        assertThat(weightShares).isCloseTo(1.0, within(0.01));
        assertThat(root.path("targets").toString()).contains("tenants: Redis CPU per admit, 10 tenants / 1 tenant");

        assertThat(md.toFile()).content().contains("### Throughput", "### Overload", "### Tenants", "### Scale",
                "### Memory", "### Targets");
    }

    private static JsonNode at(JsonNode root, String dotted) {
        JsonNode n = root;
        for (String part : dotted.split("\\.")) {
            n = n.path(part);
        }
        return n;
    }
}
