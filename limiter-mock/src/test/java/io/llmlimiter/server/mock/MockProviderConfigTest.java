package io.llmlimiter.server.mock;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MockProviderConfigTest {

    @Test
    void invalidConfigurationNamesTheBadField() {
        assertThatThrownBy(() -> MockProviderConfig.builder().requests(0, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("requestLimit");
        assertThatThrownBy(() -> MockProviderConfig.builder().tokens(10, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokenWindow");
        assertThatThrownBy(() -> MockProviderConfig.builder().maxConcurrency(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxConcurrency");
        assertThatThrownBy(() -> MockProviderConfig.builder().latency(Duration.ofMillis(-5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("latency");
        assertThatThrownBy(() -> MockProviderConfig.builder().completionRatio(1.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("completionRatio");
    }

    @Test
    void completionTokensAreTheConfiguredShareOrCountCappedByMaxTokens() {
        MockProviderConfig ratio = MockProviderConfig.builder().completionRatio(0.5).build();
        MockProviderConfig fixed = MockProviderConfig.builder().completionTokens(30).build();

        assertThat(ratio.completionTokensFor(100)).isEqualTo(50);
        assertThat(ratio.completionTokensFor(1)).isEqualTo(1);
        assertThat(fixed.completionTokensFor(100)).isEqualTo(30);
        assertThat(fixed.completionTokensFor(20)).isEqualTo(20);
    }

    @Test
    void jitteredLatencyStaysWithinTheConfiguredBand() {
        MockProviderConfig config = MockProviderConfig.builder()
                .latency(Duration.ofMillis(50), Duration.ofMillis(20)).build();

        for (int i = 0; i < 1000; i++) {
            assertThat(config.sampleLatencyNanos()).isBetween(30_000_000L, 70_000_000L);
        }
    }
}
