package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The delivery margin is part of a target's config: defaulted, validated, and round-tripped as JSON. */
class DeliveryMarginConfigTest {

    private static final Target T = new Target("openai", "gpt-4o");

    @Test
    void aConfigWithoutTheFieldGetsTheDefaultSizedForCallsOverTheInternet() {
        LimitConfig old = LimitConfig.fromJson("{\"provider\":\"openai\",\"model\":\"gpt-4o\",\"limits\":\"requests=500/60s\"}");

        assertThat(old.deliveryMargin()).isEqualTo(Duration.ofMillis(250));
        assertThat(LimitConfig.builder(T).limits("requests=1/1s").build().deliveryMargin())
                .isEqualTo(LimitConfig.DEFAULT_DELIVERY_MARGIN);
    }

    @Test
    void theMarginRoundTripsThroughJsonAndZeroIsAllowed() {
        for (long ms : new long[] {0, 1, 80, 60_000}) {
            LimitConfig c = LimitConfig.builder(T).limits("tokens=30000/60s").deliveryMargin(Duration.ofMillis(ms)).build();

            assertThat(c.toJson()).contains("\"delivery_margin_ms\":" + ms);
            LimitConfig back = LimitConfig.fromJson(c.toJson());
            assertThat(back.deliveryMargin()).isEqualTo(Duration.ofMillis(ms));
            assertThat(back).isEqualTo(c);
            assertThat(back.toBuilder().build().deliveryMargin()).isEqualTo(Duration.ofMillis(ms));
        }
    }

    @Test
    void aMarginOutsideZeroToSixtySecondsIsRefusedNamingTheField() {
        LimitConfig.Builder b = LimitConfig.builder(T).limits("requests=1/1s");

        assertThatThrownBy(() -> b.deliveryMargin(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("delivery_margin_ms");
        assertThatThrownBy(() -> b.deliveryMargin(Duration.ofMillis(60_001)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("delivery_margin_ms");
        assertThatThrownBy(() -> LimitConfig.fromJson(
                "{\"provider\":\"a\",\"model\":\"b\",\"limits\":\"requests=1/1s\",\"delivery_margin_ms\":1.5}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("delivery_margin_ms");
        assertThatThrownBy(() -> LimitConfig.fromJson(
                "{\"provider\":\"a\",\"model\":\"b\",\"limits\":\"requests=1/1s\",\"delivery_margin_ms\":-5}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("delivery_margin_ms");
    }
}
