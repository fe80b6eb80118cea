package io.llmlimiter.client.retry;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.retry.ProviderSignals.Budget;
import java.net.http.HttpHeaders;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ProviderSignalParserTest {

    private static final Instant NOW = Instant.parse("2015-10-21T07:28:00Z");

    private static ProviderSignals parse(Map<String, List<String>> headers) {
        return ProviderSignalParser.parse(headers, NOW);
    }

    @ParameterizedTest(name = "Retry-After: {0} -> {1} ms")
    @CsvSource({"20, 20000", "0, 0", "1.5, 1500", "0.25, 250", "' 7 ', 7000"})
    void retryAfterDeltaSecondsAreParsedIncludingFractions(String value, long millis) {
        assertThat(parse(Map.of("Retry-After", List.of(value))).retryAfter()).contains(Duration.ofMillis(millis));
    }

    @Test
    void retryAfterHttpDateIsRelativeToNow() {
        ProviderSignals signals = parse(Map.of("retry-after", List.of("Wed, 21 Oct 2015 07:28:30 GMT")));

        assertThat(signals.retryAfter()).contains(Duration.ofSeconds(30));
    }

    @Test
    void retryAfterObsoleteHttpDateFormsAreAccepted() {
        assertThat(ProviderSignalParser.parseRetryAfter("Wednesday, 21-Oct-15 07:29:00 GMT", NOW))
                .contains(Duration.ofMinutes(1));
        assertThat(ProviderSignalParser.parseRetryAfter("Wed Oct 21 07:28:10 2015", NOW))
                .contains(Duration.ofSeconds(10));
        assertThat(ProviderSignalParser.parseRetryAfter("Sun Nov  6 08:49:37 1994", NOW))
                .as("asctime pads single-digit days with a space").contains(Duration.ZERO);
    }

    @Test
    void retryAfterDateInThePastMeansNoWait() {
        assertThat(ProviderSignalParser.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", NOW)).contains(Duration.ZERO);
    }

    @Test
    void retryAfterMsIsPreferredBecauseItIsMorePrecise() {
        ProviderSignals signals = parse(Map.of("retry-after", List.of("2"), "retry-after-ms", List.of("1500.5")));

        assertThat(signals.retryAfter()).contains(Duration.ofNanos(1_500_500_000L));
    }

    @ParameterizedTest(name = "{0} -> {1} ms")
    @CsvSource({"6m0s, 360000", "1s, 1000", "20ms, 20", "1h2m3.5s, 3723500", "0.5s, 500", "0s, 0", "0, 0",
            "7.66s, 7660", "2m59.56s, 179560", "1.5m, 90000"})
    void openAiResetDurationsAreParsed(String value, long millis) {
        assertThat(ProviderSignalParser.parseResetDuration(value)).contains(Duration.ofMillis(millis));
    }

    @Test
    void openAiRateLimitHeadersBecomeBudgets() {
        ProviderSignals signals = parse(Map.of(
                "x-ratelimit-limit-requests", List.of("60"),
                "x-ratelimit-remaining-requests", List.of("59"),
                "x-ratelimit-reset-requests", List.of("1s"),
                "x-ratelimit-limit-tokens", List.of("150000"),
                "x-ratelimit-remaining-tokens", List.of("0"),
                "x-ratelimit-reset-tokens", List.of("6m0s")));

        assertThat(signals.budgets()).containsExactly(
                new Budget(SignalResource.REQUESTS, OptionalLong.of(60), OptionalLong.of(59),
                        Optional.of(Duration.ofSeconds(1))),
                new Budget(SignalResource.TOKENS, OptionalLong.of(150000), OptionalLong.of(0),
                        Optional.of(Duration.ofSeconds(360))));
        assertThat(signals.retryAfter()).isEmpty();
        assertThat(signals.suggestedWait()).as("the exhausted budget's reset").contains(Duration.ofMinutes(6));
    }

    @Test
    void anthropicResetTimestampsAreRfc3339RelativeToNow() {
        Instant now = Instant.parse("2026-11-26T05:00:00Z");
        Map<String, List<String>> headers = Map.of(
                "anthropic-ratelimit-requests-limit", List.of("50"),
                "anthropic-ratelimit-requests-remaining", List.of("49"),
                "anthropic-ratelimit-requests-reset", List.of("2026-11-26T05:00:30Z"),
                "anthropic-ratelimit-input-tokens-remaining", List.of("0"),
                "anthropic-ratelimit-input-tokens-reset", List.of("2026-11-26T06:00:00.5+01:00"),
                "anthropic-ratelimit-output-tokens-limit", List.of("8000"),
                "retry-after", List.of("12"));

        ProviderSignals signals = ProviderSignalParser.parse(headers, now);

        assertThat(signals.budget(SignalResource.REQUESTS)).contains(new Budget(SignalResource.REQUESTS,
                OptionalLong.of(50), OptionalLong.of(49), Optional.of(Duration.ofSeconds(30))));
        assertThat(signals.budget(SignalResource.INPUT_TOKENS).flatMap(Budget::resetIn))
                .contains(Duration.ofMillis(500));
        assertThat(signals.budget(SignalResource.OUTPUT_TOKENS).map(Budget::limit)).contains(OptionalLong.of(8000));
        assertThat(signals.budget(SignalResource.TOKENS)).isEmpty();
        assertThat(signals.suggestedWait()).as("explicit retry-after wins").contains(Duration.ofSeconds(12));
        assertThat(ProviderSignalParser.parseResetTimestamp("2026-11-26T04:00:00Z", now)).contains(Duration.ZERO);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "soon", "-5", "1e3", "Thu, 99 Foo 2015 25:00:00 GMT", "NaN", "12 seconds"})
    void malformedRetryAfterIsIgnored(String value) {
        assertThat(parse(Map.of("retry-after", List.of(value))).retryAfter()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "6m0", "1x", "-1s", "s", "1h 2m", "m1s", "1.2.3s", "99999999999999999999h"})
    void malformedResetDurationsAreIgnored(String value) {
        assertThat(ProviderSignalParser.parseResetDuration(value)).isEmpty();
    }

    @Test
    void malformedHeadersAreSkippedWithoutThrowing() {
        ProviderSignals signals = parse(Map.of(
                "x-ratelimit-limit-requests", List.of("lots"),
                "x-ratelimit-remaining-requests", List.of("-3"),
                "x-ratelimit-reset-requests", List.of("tomorrow"),
                "x-ratelimit-remaining-tokens", List.of("100"),
                "x-ratelimit-reset-tokens", List.of("1.5"),
                "anthropic-ratelimit-tokens-reset", List.of("2026-13-45T99:00:00Z"),
                "retry-after-ms", List.of("abc")));

        assertThat(signals.budgets()).containsExactly(new Budget(SignalResource.TOKENS, OptionalLong.empty(),
                OptionalLong.of(100), Optional.empty()));
        assertThat(signals.retryAfter()).isEmpty();
    }

    @Test
    void headerNamesAreCaseInsensitive() {
        ProviderSignals signals = parse(Map.of(
                "RETRY-AFTER", List.of("3"),
                "X-RateLimit-Remaining-Tokens", List.of("7"),
                "Anthropic-RateLimit-Output-Tokens-Remaining", List.of("9")));

        assertThat(signals.retryAfter()).contains(Duration.ofSeconds(3));
        assertThat(signals.budget(SignalResource.TOKENS).map(Budget::remaining)).contains(OptionalLong.of(7));
        assertThat(signals.budget(SignalResource.OUTPUT_TOKENS).map(Budget::remaining)).contains(OptionalLong.of(9));
    }

    @Test
    void javaNetHttpHeadersAndFailuresCanBeParsedDirectly() {
        HttpHeaders headers = HttpHeaders.of(Map.of("retry-after", List.of("4")), (n, v) -> true);

        assertThat(ProviderSignalParser.parse(headers, NOW).retryAfter()).contains(Duration.ofSeconds(4));
        assertThat(ProviderSignalParser.parse(ProviderFailure.ofResponse(429, headers.map(), null, null), NOW)
                .retryAfter()).contains(Duration.ofSeconds(4));
    }

    @Test
    void noHeadersMeansEmptySignals() {
        assertThat(ProviderSignalParser.parse((Map<String, List<String>>) null, NOW).isEmpty()).isTrue();
        assertThat(parse(Map.of("content-type", List.of("application/json")))).isEqualTo(ProviderSignals.empty());
        assertThat(ProviderSignals.empty().suggestedWait()).isEmpty();
    }
}
