package io.llmlimiter.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.retry.ProviderSignalParser;
import io.llmlimiter.client.retry.ProviderSignals;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which provider-stated limits are told to the fleet, and how often. */
class ProviderLimitsTest {

    private static final Target T = new Target("openai", "gpt-4o");
    private static final LimitConfig CONFIG = LimitConfig.builder(T)
            .limits("requests=500/60s,tokens=30000/1m,requests=20/2s").build();

    private static ProviderSignals openAi(long requests, long tokens) {
        return ProviderSignalParser.parse(Map.of("x-ratelimit-limit-requests", List.of(Long.toString(requests)),
                "x-ratelimit-limit-tokens", List.of(Long.toString(tokens))), Instant.now());
    }

    @Test
    void onlyLimitsBelowAConfiguredOneOfTheSameResourceAndWindowAreTold() {
        ProviderLimits limits = new ProviderLimits();

        List<ProviderLimits.Stated> told = limits.toTell(openAi(400, 30000), CONFIG, 0);

        // 400 requests per minute is below the configured 500; 30000 tokens is not below 30000.
        assertThat(told).containsExactly(new ProviderLimits.Stated(Resource.REQUESTS, 400, Duration.ofMinutes(1)));
        assertThat(limits.toTell(openAi(600, 40000), CONFIG, 5_000_000_000L)).isEmpty();
    }

    @Test
    void anthropicsInputAndOutputLimitsAreReadPerMinute() {
        LimitConfig c = LimitConfig.builder(new Target("anthropic", "claude")).limits(
                "input_tokens=40000/60s,output_tokens=8000/60s").build();
        ProviderSignals s = ProviderSignalParser.parse(Map.of(
                "anthropic-ratelimit-input-tokens-limit", List.of("30000"),
                "anthropic-ratelimit-output-tokens-limit", List.of("8000")), Instant.now());

        assertThat(new ProviderLimits().toTell(s, c, 0))
                .containsExactly(new ProviderLimits.Stated(Resource.INPUT_TOKENS, 30000, Duration.ofMinutes(1)));
    }

    @Test
    void theSameValueIsToldAtMostOnceASecondAndAChangeAtOnce() {
        ProviderLimits limits = new ProviderLimits();
        long s = 1_000_000_000L;

        assertThat(limits.toTell(openAi(400, 99999), CONFIG, 10 * s)).hasSize(1);
        assertThat(limits.toTell(openAi(400, 99999), CONFIG, 10 * s + s / 2)).isEmpty();
        assertThat(limits.toTell(openAi(300, 99999), CONFIG, 10 * s + s / 2 + 1)).hasSize(1);
        assertThat(limits.toTell(openAi(300, 99999), CONFIG, 11 * s)).isEmpty();
        assertThat(limits.toTell(openAi(300, 99999), CONFIG, 11 * s + s / 2 + 1)).hasSize(1);
        // Another target is told on its own schedule.
        LimitConfig other = CONFIG.toBuilder().build();
        assertThat(limits.toTell(openAi(300, 99999), LimitConfig.builder(new Target("openai", "other"))
                .limits(other.limits()).build(), 11 * s + s / 2 + 2)).hasSize(1);
    }

    @Test
    void nothingIsToldWithoutAKnownConfig() {
        assertThat(new ProviderLimits().toTell(openAi(1, 1), null, 0)).isEmpty();
    }
}
