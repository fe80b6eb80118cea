package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.Durations;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.server.AdminServer;
import io.llmlimiter.server.ServeCommand;
import io.llmlimiter.server.mock.HeaderStyle;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The probe finds the mock provider's limits within 10%, from headers and from 429s alone. */
@WithRedis
class ProbeCommandTest {

    /** 12 requests per second, 5000 tokens per 2 s, 3 at once. */
    private static MockProviderConfig.Builder limits() {
        return MockProviderConfig.builder().requests(12, Duration.ofSeconds(1)).tokens(5000, Duration.ofSeconds(2))
                .maxConcurrency(3).latency(Duration.ofMillis(100));
    }

    private static final String TOKEN = "probe-test-token-0123456789";

    private static AdminServer adminServer(LlmLimiter limiter, String redis, Path dir) throws java.io.IOException {
        return AdminServer.builder().admin(limiter.admin()).redis(redis).token(TOKEN).host("127.0.0.1").port(0)
                .configFile(dir.resolve("configs.json")).start();
    }

    @Test
    void readsTheLimitsFromHeadersWithFewCallsAndAppliesTheSuggestionThroughTheAdminApi(RedisProcess redis,
            @TempDir Path dir) throws Exception {
        try (MockProvider provider = MockProvider.start(limits().headerStyle(HeaderStyle.OPENAI).build());
             LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             AdminServer admin = adminServer(limiter, redis.uri(), dir)) {
            limiter.admin().putConfig(LimitConfig.builder(Target.parse("mock/probe")).limits("requests=1/1s")
                    .accounting(io.llmlimiter.client.Accounting.ACTUAL).build());
            JsonNode report = probe(provider, Map.of(ServeCommand.TOKEN_ENV, TOKEN),
                    "--max-calls", "20", "--apply", "--admin-url", admin.url());

            assertFound(report, "headers");
            assertThat(report.path("calls_used").asInt()).isLessThanOrEqualTo(12);
            assertThat(report.path("applied").asText()).startsWith("HTTP 20");
            LimitConfig applied = limiter.admin().config(Target.parse("mock/probe")).orElseThrow();
            // The probe record is the admin server's, in the stored document: read it back over REST.
            JsonNode served = served(admin, "mock/probe");
            assertThat(served.path("is_tested").asBoolean()).isTrue();
            assertThat(served.path("last_test_date").asText()).isEqualTo(LocalDate.now(ZoneOffset.UTC).toString());
            assertThat(served.path("test_notes").asText()).contains("requests 12/1s (headers)").contains("concurrency 3");
            assertThat(served.path("accounting").asText()).isEqualTo("actual");
            assertThat(applied.toString()).contains("requests=10/1s").contains("tokens=4500/2s");
            assertThat(applied.maxConcurrent()).isEqualTo(2);
            // A merge, not a replacement: the settings the probe does not measure stay.
            assertThat(applied.accounting()).isEqualTo(io.llmlimiter.client.Accounting.ACTUAL);
            assertThat(report.path("applied").asText()).contains("PATCH");
        }
    }

    @Test
    void applyCreatesATargetThatHasNoConfigAndReadsTheTokenFromTheEnvironmentOnly(RedisProcess redis,
            @TempDir Path dir) throws Exception {
        try (MockProvider provider = MockProvider.start(limits().headerStyle(HeaderStyle.OPENAI).build());
             LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             AdminServer admin = adminServer(limiter, redis.uri(), dir)) {
            Result noToken = run(provider, Map.of(), "--max-calls", "20", "--apply", "--admin-url", admin.url());
            assertThat(noToken.code()).isNotZero();
            assertThat(noToken.err()).contains("--apply").contains(ServeCommand.TOKEN_ENV);
            Result onTheCommandLine = run(provider, Map.of(), "--max-calls", "20", "--apply", "--admin-url",
                    admin.url(), "--admin-token", TOKEN);
            assertThat(onTheCommandLine.code()).isNotZero();
            assertThat(onTheCommandLine.err()).contains("--admin-token");
            assertThat(provider.totalCalls()).isZero();

            JsonNode report = probe(provider, Map.of(ServeCommand.TOKEN_ENV, TOKEN),
                    "--max-calls", "20", "--apply", "--admin-url", admin.url());
            assertThat(report.path("applied").asText()).startsWith("HTTP 20");
            assertThat(limiter.admin().config(Target.parse("mock/probe")).orElseThrow().toString())
                    .contains("requests=10/1s");
            JsonNode served = served(admin, "mock/probe");
            assertThat(served.path("is_tested").asBoolean()).isTrue();
            assertThat(served.path("test_notes").asText()).contains("requests 12/1s (headers)");
        }
    }

    @Test
    void aFirstCallRefusedAsTooLargeStartsTheBisectionThatFindsTheTokenLimit() throws Exception {
        // 50 tokens per 2 s: even the first ramp call (8 + 64 tokens) is refused as too large.
        try (MockProvider provider = MockProvider.start(MockProviderConfig.builder()
                .requests(30, Duration.ofSeconds(1)).tokens(50, Duration.ofSeconds(2)).maxConcurrency(3)
                .latency(Duration.ofMillis(20)).headerStyle(HeaderStyle.NONE).build())) {
            JsonNode report = probe(provider, "--max-calls", "80");

            String all = report.toPrettyString();
            assertThat(report.at("/observed/tokens/amount").asDouble()).as(all).isCloseTo(50, within(5.0));
            assertThat(seconds(report.at("/observed/tokens/window").asText())).as(all).isCloseTo(2.0, within(0.2));
        }
    }

    @Test
    void aModelOutputCapIsNotMistakenForATokenLimit() throws Exception {
        // One call may ask for at most 500 max_tokens (HTTP 400 naming max_tokens above it); no token window.
        try (MockProvider provider = MockProvider.start(MockProviderConfig.builder()
                .requests(30, Duration.ofSeconds(1)).maxConcurrency(3).latency(Duration.ofMillis(20))
                .maxOutputTokens(500).headerStyle(HeaderStyle.NONE).build())) {
            JsonNode report = probe(provider, "--max-calls", "60");

            String all = report.toPrettyString();
            assertThat(report.at("/observed/tokens").isMissingNode()).as(all).isTrue();
            assertThat(report.path("notes").toString()).as(all).contains("at most about 50").contains("output cap");
            assertThat(report.at("/observed/requests/amount").asDouble()).as(all).isCloseTo(30, within(3.0));
        }
    }

    @Test
    void rampsToTheLimitsWhenTheProviderSendsNoHeaders() throws Exception {
        try (MockProvider provider = MockProvider.start(limits().headerStyle(HeaderStyle.NONE).build())) {
            JsonNode report = probe(provider, "--max-calls", "80");

            assertFound(report, "429s");
            assertThat(report.path("calls_used").asInt()).isLessThanOrEqualTo(80);
        }
    }

    @Test
    void neverSpendsMoreThanItsBudget() throws Exception {
        try (MockProvider provider = MockProvider.start(limits().headerStyle(HeaderStyle.NONE).build())) {
            JsonNode report = probe(provider, "--max-calls", "10");

            assertThat(report.path("calls_used").asInt()).isLessThanOrEqualTo(10);
            assertThat(provider.totalCalls()).isLessThanOrEqualTo(10);
            assertThat(report.path("notes").toString()).contains("--max-calls");
        }
    }

    private static void assertFound(JsonNode report, String source) {
        String all = report.toPrettyString();
        JsonNode observed = report.path("observed");
        assertThat(observed.at("/requests/amount").asDouble()).as(all).isCloseTo(12, within(1.2));
        assertThat(seconds(observed.at("/requests/window").asText())).as(all).isCloseTo(1.0, within(0.1));
        assertThat(observed.at("/requests/source").asText()).isEqualTo(source);
        assertThat(observed.at("/tokens/amount").asDouble()).as(all).isCloseTo(5000, within(500.0));
        assertThat(seconds(observed.at("/tokens/window").asText())).as(all).isCloseTo(2.0, within(0.2));
        assertThat(observed.at("/concurrency/max").asInt()).as(all).isEqualTo(3);
        assertThat(report.at("/suggested/is_tested").asBoolean()).isTrue();
        assertThat(report.at("/suggested/max_concurrent").asInt()).isEqualTo(2);
    }

    /** GET of a target's stored config over the admin API. */
    private static JsonNode served(AdminServer admin, String target) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(admin.url() + "/api/v1/targets/" + target)).header("Authorization", "Bearer " + TOKEN).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return CliSupport.JSON.readTree(r.body());
    }

    private static double seconds(String window) {
        return Durations.parse("window", window).toMillis() / 1000.0;
    }

    private static JsonNode probe(MockProvider provider, String... extra) throws Exception {
        return probe(provider, Map.of(), extra);
    }

    private static JsonNode probe(MockProvider provider, Map<String, String> env, String... extra) throws Exception {
        Result r = run(provider, env, extra);
        assertThat(r.code()).as(r.err()).isZero();
        return CliSupport.JSON.readTree(r.out());
    }

    private record Result(int code, String out, String err) {
    }

    private static Result run(MockProvider provider, Map<String, String> env, String... extra) {
        List<String> args = new ArrayList<>(List.of("--base-url", provider.baseUrl(), "--target", "mock/probe",
                "--api-key-env", "LLMLIMITER_TEST_NO_SUCH_KEY", "--json"));
        args.addAll(List.of(extra));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new ProbeCommand(env::get));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args.toArray(new String[0]));
        return new Result(code, out.toString(), err.toString());
    }
}
