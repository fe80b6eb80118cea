package io.llmlimiter.server.mock;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SlidingWindowTest {

    private static final long WINDOW = 1_000;

    @Test
    void aChargeCountsUntilExactlyOneWindowLaterAndNoLonger() {
        SlidingWindow w = new SlidingWindow();
        w.add(100, 3);

        assertThat(w.used(1_099, WINDOW)).isEqualTo(3);
        assertThat(w.used(1_100, WINDOW)).isZero();
    }

    @Test
    void theWaitUntilAChargeFitsIsWhenEnoughOfTheOldestChargesHaveLeft() {
        SlidingWindow w = new SlidingWindow();
        w.add(0, 4);
        w.add(200, 4);
        w.add(400, 2);

        assertThat(w.nanosUntilFits(500, WINDOW, 10, 0)).isZero();
        assertThat(w.nanosUntilFits(500, WINDOW, 10, 3)).isEqualTo(500);
        assertThat(w.nanosUntilFits(500, WINDOW, 10, 7)).isEqualTo(700);
        assertThat(w.nanosUntilFits(500, WINDOW, 10, 11)).isEqualTo(-1);
        assertThat(w.nanosUntilEmpty(500, WINDOW)).isEqualTo(900);
    }

    @Test
    void clearingForgetsEveryCharge() {
        SlidingWindow w = new SlidingWindow();
        w.add(0, 5);
        w.clear();

        assertThat(w.used(1, WINDOW)).isZero();
        assertThat(w.nanosUntilEmpty(1, WINDOW)).isZero();
    }
}
