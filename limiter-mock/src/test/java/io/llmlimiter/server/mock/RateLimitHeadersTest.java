package io.llmlimiter.server.mock;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimitHeadersTest {

    @Test
    void resetDurationsAreFormattedLikeOpenAi() {
        assertThat(RateLimitHeaders.goDuration(0)).isEqualTo("0s");
        assertThat(RateLimitHeaders.goDuration(20)).isEqualTo("20ms");
        assertThat(RateLimitHeaders.goDuration(1000)).isEqualTo("1s");
        assertThat(RateLimitHeaders.goDuration(1500)).isEqualTo("1.5s");
        assertThat(RateLimitHeaders.goDuration(360_000)).isEqualTo("6m0s");
        assertThat(RateLimitHeaders.goDuration(3_723_250)).isEqualTo("1h2m3.25s");
    }
}
