package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TokenEstimator;
import io.llmlimiter.client.retry.ProviderSignalParser;
import io.llmlimiter.client.retry.ProviderSignals;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pure parts of the commands: arithmetic, window inference, 429 reading, formatting. */
class CliPartsTest {

    private static final WorkloadSpec SPEC = new WorkloadSpec("http://127.0.0.1:1", Target.parse("a/b"), 4, 100, 200,
            true, 3, Duration.ofSeconds(1), null, null, Duration.ofSeconds(5));

    @Test
    void theFloorLetsTheFirstFullWindowInAtOnceAndCountsTheFastestCall() {
        Duration none = Duration.ZERO;
        // 120 calls of 300 tokens: requests 20/2s -> 6 batches, the last starting at 10 s; tokens 25 per
        // window -> 5 batches, the last at 8 s. Plus a 50 ms call.
        assertThat(SPEC.floorSeconds(Limit.parseAll("requests=20/2s,tokens=7500/2s"), 0, 120, Duration.ofMillis(50)))
                .isCloseTo(10.05, within(1e-9));
        // Exactly one window's worth fits in the first window: no wait at all, only the call.
        assertThat(SPEC.floorSeconds(Limit.parseAll("requests=20/2s"), 0, 20, Duration.ofMillis(50)))
                .isCloseTo(0.05, within(1e-9));
        assertThat(SPEC.floorSeconds(Limit.parseAll("requests=20/2s"), 0, 21, none)).isCloseTo(2.0, within(1e-9));
        // Output tokens: 200 per call at 1000/1s -> 5 per window; 10 calls -> the second batch at 1 s.
        assertThat(SPEC.floorSeconds(Limit.parseAll("tokens=3000/1s,output_tokens=1000/1s"), 0, 10, none))
                .isCloseTo(1.0, within(1e-9));
        // Input tokens: 100 per call at 250/1s -> 2 per window.
        assertThat(SPEC.floorSeconds(Limit.parseAll("input_tokens=250/1s"), 0, 5, none)).isCloseTo(2.0, within(1e-9));
        // A concurrency cap of 4 with 1 s calls: 10 calls run in 3 waves.
        assertThat(SPEC.floorSeconds(Limit.parseAll("requests=1000/1s"), 4, 10, Duration.ofSeconds(1)))
                .isCloseTo(3.0, within(1e-9));
        assertThat(SPEC.floorSeconds(List.of(), 0, 10, none)).isNull();
        // A call bigger than a window's whole amount never passes: no floor.
        assertThat(SPEC.floorSeconds(Limit.parseAll("tokens=299/1s"), 0, 10, none)).isNull();
    }

    @Test
    void sharesSplitTheCallsEvenly() {
        assertThat(WorkloadRun.shares(10, 3)).containsExactly(4, 3, 3);
        assertThat(WorkloadRun.shares(2, 3)).containsExactly(1, 1, 0);
    }

    @Test
    void theSpecTravelsToWorkersWithoutTheKey() {
        WorkloadSpec s = new WorkloadSpec("https://api.example.com/v1", Target.parse("openai/gpt-4o"), 3, 10, 20, false,
                0, Duration.ZERO, "redis://127.0.0.1:1", "OPENAI_API_KEY", Duration.ofSeconds(9));
        assertThat(WorkloadSpec.fromJson(s.toJson())).isEqualTo(s);
        assertThat(s.toJson().toString()).doesNotContain("sk-");
    }

    @Test
    void theTenantAndPriorityTravelToWorkers() {
        WorkloadSpec s = new WorkloadSpec("https://api.example.com/v1", Target.parse("openai/gpt-4o"), 3, 10, 20, false,
                0, Duration.ZERO, "redis://127.0.0.1:1", null, Duration.ofSeconds(9))
                .withTenant(io.llmlimiter.client.Tenant.of("team-a", io.llmlimiter.client.Priority.BATCH));
        WorkloadSpec back = WorkloadSpec.fromJson(s.toJson());
        assertThat(back.tenant()).isEqualTo(s.tenant());
        assertThat(back.withConfig(null).tenant().name()).isEqualTo("team-a");
        assertThat(new WorkloadSpec("https://api.example.com/v1", Target.parse("openai/gpt-4o"), 3, 10, 20, false,
                0, Duration.ZERO, "redis://127.0.0.1:1", null, Duration.ofSeconds(9)).tenant())
                .isEqualTo(io.llmlimiter.client.Tenant.DEFAULT);
    }

    @Test
    void theTargetsConfigTravelsToWorkersSoTheyCanReCreateIt() {
        Target t = Target.parse("openai/gpt-4o");
        LimitConfig config = LimitConfig.builder(t).limits("requests=20/2s,tokens=4000/2s").maxConcurrent(4).build();
        WorkloadSpec s = new WorkloadSpec("https://api.example.com/v1", t, 3, 10, 20, false, 0, Duration.ZERO,
                "redis://127.0.0.1:1", null, Duration.ofSeconds(9)).withConfig(config);
        assertThat(WorkloadSpec.fromJson(s.toJson()).config()).isEqualTo(config);
        assertThat(WorkloadSpec.fromJson(s.withConfig(null).toJson()).config()).isNull();
    }

    @Test
    void summariesOfWorkersAddUp() {
        Summary a = Summary.of("limiter", "a/b", 1, 2, 5, new Tally.Snapshot(5, 0, 0, 1), Map.of(), 2.0, null);
        Summary b = Summary.of("limiter", "a/b", 1, 2, 6, new Tally.Snapshot(4, 2, 3, 4), Map.of("HTTP 400", 2L), 3.0,
                null);
        Summary all = Summary.combine(List.of(a, b), 2, 3.5, 3.0);
        assertThat(all.requests()).isEqualTo(11);
        assertThat(all.succeeded()).isEqualTo(9);
        assertThat(all.failed()).isEqualTo(2);
        assertThat(all.provider429()).isEqualTo(3);
        assertThat(all.retries()).isEqualTo(5);
        assertThat(all.ratio()).isCloseTo(3.5 / 3.0, within(1e-9));
        // Per success: 3.5 s over 9 successes, against the floor's 3.0 s over 11 calls.
        assertThat(all.secondsPerSuccess()).isCloseTo(3.5 / 9, within(1e-9));
        assertThat(all.floorSecondsPerCall()).isCloseTo(3.0 / 11, within(1e-9));
        assertThat(all.perSuccessRatio()).isCloseTo((3.5 / 9) / (3.0 / 11), within(1e-9));
        assertThat(all.toJson().path("per_success_vs_floor").asDouble()).isCloseTo((3.5 / 9) / (3.0 / 11), within(1e-6));
        assertThat(Summary.fromJson(all.toJson())).isEqualTo(Summary.combine(List.of(a, b), 2, 3.5, 3.0));
    }

    @Test
    void thePromptHasExactlyTheAskedTokensForTheTokenizerAndForFourCharactersPerToken() {
        String prompt = ChatClient.prompt(137);
        assertThat(TokenEstimator.forModel("gpt-4o").countTokens(prompt)).isEqualTo(137);
        assertThat(TokenEstimator.forModel("gpt-4").countTokens(prompt)).isEqualTo(137);
        assertThat(prompt.length()).isEqualTo(137 * 4);
    }

    @Test
    void theChatUrlFollowsTheBaseUrlsShape() {
        assertThat(ChatClient.endpoint("http://127.0.0.1:8080").toString())
                .isEqualTo("http://127.0.0.1:8080/v1/chat/completions");
        assertThat(ChatClient.endpoint("https://api.openai.com/v1/").toString())
                .isEqualTo("https://api.openai.com/v1/chat/completions");
    }

    @Test
    void aSlidingLogsWindowIsItsResetAndABucketsIsResetTimesLimitOverUsed() {
        List<String> notes = new ArrayList<>();
        // The mock: both calls report the window itself as the time to full replenishment.
        Map<Resource, Finding> sliding = HeaderLimits.infer(openAi(20, 18, "1.998s"), openAi(20, 17, "1.999s"), notes);
        assertThat(sliding.get(Resource.REQUESTS)).isEqualTo(new Finding(20, Duration.ofSeconds(2), "headers", false));
        // OpenAI: 500 per minute replenish one every 120 ms.
        Map<Resource, Finding> bucket = HeaderLimits.infer(openAi(500, 499, "120ms"), openAi(500, 498, "240ms"), notes);
        assertThat(bucket.get(Resource.REQUESTS)).isEqualTo(new Finding(500, Duration.ofMinutes(1), "headers", false));
        assertThat(notes).isEmpty();
    }

    @Test
    void measuredWindowsAreRoundedToWhatProvidersConfigure() {
        assertThat(HeaderLimits.nice(Duration.ofMillis(1987))).isEqualTo(Duration.ofSeconds(2));
        assertThat(HeaderLimits.nice(Duration.ofMillis(59_100))).isEqualTo(Duration.ofMinutes(1));
        assertThat(HeaderLimits.nice(Duration.ofMillis(1447))).isEqualTo(Duration.ofMillis(1450));
    }

    @Test
    void a429IsReadFromTheProvidersSignalsNotItsWording() {
        ProviderSignals wait = ProviderSignalParser.parse(Map.of("retry-after", List.of("2")), Instant.now());
        ProviderSignals none = ProviderSignals.empty();
        ProviderSignals requestsOut = headers("0", "30000", "29000");
        ProviderSignals tokensOut = headers("5", "30000", "100");
        ProviderSignals roomOnBoth = headers("5", "30000", "29000");
        // OpenAI's structured type, whatever the message says.
        assertThat(ProbeCall.classify429(body("Límite alcanzado", "tokens", "rate_limit_exceeded"), wait, 1500))
                .isEqualTo(ProbeCall.Kind.TOKENS);
        assertThat(ProbeCall.classify429(body("Request too large", "tokens", "rate_limit_exceeded"), none, 50000))
                .isEqualTo(ProbeCall.Kind.TOO_LARGE);
        // Headers say which budget is out; budgets with room on both mean a concurrency cap.
        assertThat(ProbeCall.classify429(body("slow down", "requests", ""), requestsOut, 1))
                .isEqualTo(ProbeCall.Kind.REQUESTS);
        assertThat(ProbeCall.classify429(body("slow down", "requests", ""), tokensOut, 500))
                .isEqualTo(ProbeCall.Kind.TOKENS);
        assertThat(ProbeCall.classify429(body("slow down", "requests", ""), roomOnBoth, 1))
                .isEqualTo(ProbeCall.Kind.CONCURRENCY);
        assertThat(ProbeCall.classify429(body("slow down", "rate_limit_error", ""), headers("5", "1000", "900"), 5000))
                .isEqualTo(ProbeCall.Kind.TOO_LARGE);
        // A code naming concurrency.
        assertThat(ProbeCall.classify429(body("busy", "rate_limit_error", "concurrency_limit_exceeded"), wait, 1))
                .isEqualTo(ProbeCall.Kind.CONCURRENCY);
        // The English word alone decides nothing: the probe finds out by behaviour.
        assertThat(ProbeCall.classify429(body("Rate limit reached for concurrent requests", "requests", ""), wait, 1))
                .isEqualTo(ProbeCall.Kind.RATE_LIMITED);
        assertThat(ProbeCall.classify429(ProbeCall.ErrorBody.parse("Too Many Requests"), none, 1))
                .isEqualTo(ProbeCall.Kind.RATE_LIMITED);
    }

    private static ProbeCall.ErrorBody body(String message, String type, String code) {
        return ProbeCall.ErrorBody.parse("{\"error\":{\"message\":\"" + message + "\",\"type\":\"" + type
                + "\",\"code\":\"" + code + "\"}}");
    }

    private static ProviderSignals headers(String requestsLeft, String tokenLimit, String tokensLeft) {
        return ProviderSignalParser.parse(Map.of("x-ratelimit-limit-requests", List.of("10"),
                "x-ratelimit-remaining-requests", List.of(requestsLeft), "x-ratelimit-reset-requests", List.of("1s"),
                "x-ratelimit-limit-tokens", List.of(tokenLimit), "x-ratelimit-remaining-tokens", List.of(tokensLeft),
                "x-ratelimit-reset-tokens", List.of("1s")), Instant.now());
    }

    @Test
    void theComparisonTableShowsLostCallsAndTimePerSuccessSoLosingCallsNeverBeatsTheFloor() {
        // The run seen in the field: naive lost 11 calls yet its wall time was under the old minimum.
        Summary naive = Summary.of("naive", "demo/batch", 3, 4, 120, new Tally.Snapshot(109, 11, 125, 140), Map.of(),
                11.4, 10.05);
        Summary limiter = Summary.of("limiter", "demo/batch", 3, 4, 120, new Tally.Snapshot(120, 0, 0, 0), Map.of(),
                12.7, 10.05);
        String table = Comparison.table(naive, limiter, 3, 4);
        List<String> lines = table.lines().toList();
        assertThat(lines.get(0)).contains("lost").contains("provider 429s").contains("wall time")
                .contains("per success").contains("x floor");
        // 11.4 s / 109 = 105 ms per success; the floor is 10.05 s / 120 = 84 ms per call.
        assertThat(lines.get(1)).contains("naive").contains("109").contains(" 11 ").contains("125")
                .contains("11.4 s").contains("105 ms").contains("1.25x");
        assertThat(lines.get(2)).contains("llm-limiter").contains("120").contains("12.7 s").contains("106 ms")
                .contains("1.26x");
        assertThat(naive.perSuccessRatio()).isGreaterThan(naive.ratio());
        assertThat(Comparison.verdict(naive, limiter))
                .contains("120/120 calls succeeded with 0 provider 429s, 106 ms per successful call, 1.26x the floor's "
                        + "84 ms per call").contains("11 calls were lost");
    }

    @Test
    void quietLoggingPutsTheLevelsBackWhenTheCommandEnds() {
        ch.qos.logback.classic.Logger ours = (ch.qos.logback.classic.Logger)
                org.slf4j.LoggerFactory.getLogger("io.llmlimiter");
        ch.qos.logback.classic.Level before = ours.getLevel();
        try (CliSupport.Quiet quiet = CliSupport.quietLogging(false)) {
            assertThat(ours.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
        }
        assertThat(ours.getLevel()).isEqualTo(before);
    }

    private static ProviderSignals openAi(long limit, long remaining, String reset) {
        return ProviderSignalParser.parse(Map.of("x-ratelimit-limit-requests", List.of(Long.toString(limit)),
                "x-ratelimit-remaining-requests", List.of(Long.toString(remaining)),
                "x-ratelimit-reset-requests", List.of(reset)), Instant.now());
    }
}
