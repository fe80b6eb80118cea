package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The workload command against a mock provider with request, token and concurrency limits:
 * through the limiter from three JVMs nothing is refused; the same job naively meets 429s.
 */
@WithRedis
class WorkloadCommandTest {

    private MockProvider provider;

    @BeforeEach
    void startProvider() {
        provider = MockProvider.start(MockProviderConfig.builder()
                .requests(10, Duration.ofSeconds(1)).tokens(1500, Duration.ofSeconds(1))
                .maxConcurrency(4).latency(Duration.ofMillis(100), Duration.ofMillis(30)).build());
    }

    @AfterEach
    void stopProvider() {
        provider.close();
    }

    @Test
    void throughTheLimiterFromThreeProcessesNothingIsRefusedAndEveryCallSucceeds(RedisProcess redis) throws Exception {
        // The provider's own limits: the delivery margin absorbs the delay until the provider counts a call.
        Result r = run("--base-url", provider.baseUrl(), "--target", "mock/workload-3p", "--requests", "50",
                "--processes", "3", "--threads", "3", "--prompt-tokens", "20", "--max-tokens", "100",
                "--redis", redis.uri(), "--limits", "requests=10/1s,tokens=1500/1s", "--max-concurrent", "4",
                "--json");

        assertThat(r.code).as(r.err).isZero();
        JsonNode s = CliSupport.JSON.readTree(r.out);
        assertThat(s.path("mode").asText()).isEqualTo("limiter");
        assertThat(s.path("processes").asInt()).isEqualTo(3);
        assertThat(s.path("requests").asLong()).isEqualTo(50);
        assertThat(s.path("succeeded").asLong()).as(r.out).isEqualTo(50);
        assertThat(s.path("failed").asLong()).isZero();
        assertThat(s.path("provider_429").asLong()).as(r.out).isZero();
        assertThat(provider.rateLimitedCount()).isZero();
        assertThat(provider.successCount()).isEqualTo(50);
        // The calls and nothing else reached the provider: no warm-up request outside the budget.
        assertThat(provider.requestsReceived()).isEqualTo(50);
        // The floor: 10 requests (and 12 calls' tokens) per 1 s window, the first window at once, so the
        // fifth batch of 10 starts after 4 windows; the provider's latency is not known.
        assertThat(s.path("theoretical_min_seconds").asDouble()).isCloseTo(4.0, within(0.01));
        assertThat(s.path("floor_seconds_per_call").asDouble()).isCloseTo(0.08, within(0.001));
        assertThat(s.path("seconds_per_success").asDouble())
                .isCloseTo(s.path("wall_seconds").asDouble() / 50, within(0.001));
        assertThat(s.path("per_success_vs_floor").asDouble()).isGreaterThanOrEqualTo(1.0).isLessThan(3.0);
        assertThat(r.err).contains("[limiter]");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            LimitConfig c = limiter.admin().config(Target.parse("mock/workload-3p")).orElseThrow();
            assertThat(c.maxConcurrent()).isEqualTo(4);
        }
    }

    @Test
    void theRunsCostIsTheUsageAtTheTargetsPricesAndMatchesWhatTheLimiterRecorded(RedisProcess redis) throws Exception {
        io.llmlimiter.client.Target t = io.llmlimiter.client.Target.parse("mock/workload-cost");
        try (io.llmlimiter.client.LlmLimiter l = io.llmlimiter.client.LlmLimiter.builder().redis(redis.uri()).build()) {
            l.admin().putConfig(io.llmlimiter.client.LimitConfig.builder(t).limits("requests=100/1s")
                    .prices(io.llmlimiter.client.ModelPrice.of("2.50", "10")).build());
        }
        Result r = run("--base-url", provider.baseUrl(), "--target", t.toString(), "--requests", "20",
                "--threads", "2", "--prompt-tokens", "20", "--max-tokens", "100", "--redis", redis.uri(),
                "--limits", "requests=100/1s", "--json");

        assertThat(r.code).as(r.err).isZero();
        JsonNode s = CliSupport.JSON.readTree(r.out);
        assertThat(s.path("succeeded").asLong()).as(r.out).isEqualTo(20);
        java.math.BigDecimal cost = s.path("cost_usd").decimalValue();
        assertThat(cost).isPositive();
        // The workload prices each successful response's usage; the limiter priced every completion
        // with a usage (a refused attempt reports none and adds no spend): the same dollars.
        try (io.llmlimiter.client.LlmLimiter l = io.llmlimiter.client.LlmLimiter.builder().redis(redis.uri()).build()) {
            long recorded = l.admin().stats(t).get("cost_usd_micros");
            assertThat(cost).isEqualByComparingTo(java.math.BigDecimal.valueOf(recorded, 6));
        }
    }

    @Test
    void naivelyTheSameJobMeetsProvider429s() throws Exception {
        Result r = run("--base-url", provider.baseUrl(), "--target", "mock/workload-naive", "--requests", "50",
                "--threads", "9", "--prompt-tokens", "20", "--max-tokens", "100", "--naive",
                "--naive-backoff", "200ms", "--limits", "requests=10/1s,tokens=1500/1s", "--json");

        assertThat(r.code).as(r.err).isZero();
        JsonNode s = CliSupport.JSON.readTree(r.out);
        assertThat(s.path("mode").asText()).isEqualTo("naive");
        assertThat(s.path("provider_429").asLong()).as(r.out).isPositive();
        assertThat(s.path("retries").asLong()).isPositive();
        assertThat(s.path("succeeded").asLong() + s.path("failed").asLong()).isEqualTo(50);
    }

    @Test
    void printsASummaryForPeople(RedisProcess redis) {
        // Limits well below the provider's, so its 429s cannot come into this.
        Result r = run("--base-url", provider.baseUrl(), "--target", "mock/workload-text", "--requests", "5",
                "--redis", redis.uri(), "--limits", "requests=3/1200ms", "--max-concurrent", "4");

        assertThat(r.code).as(r.err).isZero();
        // 3 calls in the first window at once, the other 2 one window later: a floor of 1.2 s, 240 ms per call.
        assertThat(r.out).contains("through the limiter").contains("result: 5/5 succeeded, 0 failed, 0 provider 429s")
                .contains("theoretical floor 1.2 s at requests=3/1200ms (240 ms per call")
                .containsPattern("wall time [0-9.]+ s, [0-9]+ ms per successful call")
                .containsPattern("[0-9.]+x the floor per success");
        assertThat(provider.requestsReceived()).isEqualTo(5);
    }

    @Test
    void aRedisRestartedEmptyMidRunWithNoAdminServerFailsNoCallAndKeepsTheLimits(RedisProcess redis) throws Exception {
        // Once a third of the calls succeeded, Redis goes away for about a second and comes back
        // empty: no admin server writes the config back, the workers re-create it from --limits.
        Thread blip = new Thread(() -> {
            try {
                while (provider.successCount() < 20) {
                    Thread.sleep(10);
                }
                redis.stop();
                Thread.sleep(1000);
                redis.restart();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "redis-blip");
        blip.start();
        Result r;
        try {
            r = run("--base-url", provider.baseUrl(), "--target", "mock/workload-blip", "--requests", "60",
                    "--processes", "3", "--threads", "3", "--prompt-tokens", "20", "--max-tokens", "100",
                    "--redis", redis.uri(), "--limits", "requests=10/1300ms,tokens=1500/1300ms", "--max-concurrent", "4",
                    "--json");
        } finally {
            blip.join(60_000);
            if (!redis.isRunning()) {
                redis.restart();
            }
        }

        assertThat(r.code).as(r.err).isZero();
        JsonNode s = CliSupport.JSON.readTree(r.out);
        assertThat(s.path("succeeded").asLong()).as(r.out + r.err).isEqualTo(60);
        assertThat(s.path("failed").asLong()).isZero();
        assertThat(provider.successCount()).isEqualTo(60);
        // The provider's floor: 60 calls at its 10 per second. On the default config (10 per
        // minute) the rest of the run would take minutes.
        double floor = 60 * 1.0 / 10;
        System.out.printf("workload blip: wall %.1f s, provider floor %.1f s, %d provider 429s%n",
                s.path("wall_seconds").asDouble(), floor, s.path("provider_429").asLong());
        assertThat(s.path("wall_seconds").asDouble()).as(r.out).isLessThanOrEqualTo(2 * floor);
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            LimitConfig c = limiter.admin().config(Target.parse("mock/workload-blip")).orElseThrow();
            assertThat(c.autoCreated()).isFalse();
            assertThat(c.maxConcurrent()).isEqualTo(4);
        }
    }

    @Test
    void aBadTenantOrPriorityIsRefusedNamingTheFlag() {
        Result t = run("--base-url", provider.baseUrl(), "--target", "mock/tenants", "--tenant", "", "--redis",
                "redis://127.0.0.1:1");
        assertThat(t.code).isNotZero();
        assertThat(t.err).contains("--tenant");
        Result p = run("--base-url", provider.baseUrl(), "--target", "mock/tenants", "--priority", "urgent", "--redis",
                "redis://127.0.0.1:1");
        assertThat(p.code).isNotZero();
        assertThat(p.err).contains("--priority");
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new WorkloadCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    private record Result(int code, String out, String err) {
    }
}
