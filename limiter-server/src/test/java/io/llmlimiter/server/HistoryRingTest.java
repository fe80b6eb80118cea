package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class HistoryRingTest {

    private static final int SERIES = HistoryRing.Series.values().length;

    private static float[] sample(float admitted) {
        float[] v = new float[SERIES];
        Arrays.fill(v, Float.NaN);
        v[HistoryRing.Series.ADMITTED_PER_S.ordinal()] = admitted;
        return v;
    }

    private static long[] refused(long window) {
        return new long[] {window, 0, 0, 0, 0};
    }

    @Test
    void keepsTheLatestSamplesOldestFirstOnceFull() {
        HistoryRing ring = new HistoryRing(3);
        for (int i = 1; i <= 5; i++) {
            ring.add(i * 1000L, sample(i), refused(0));
        }

        HistoryRing.View v = ring.view();

        assertThat(ring.size()).isEqualTo(3);
        assertThat(v.times()).containsExactly(3000L, 4000L, 5000L);
        assertThat(v.of(HistoryRing.Series.ADMITTED_PER_S)).containsExactly(3f, 4f, 5f);
        assertThat(v.of(HistoryRing.Series.WAITING)).containsOnly(Float.NaN);
    }

    @Test
    void aViewIsACopyThatLaterSamplesDoNotChange() {
        HistoryRing ring = new HistoryRing(2);
        ring.add(1000, sample(1), refused(0));
        HistoryRing.View before = ring.view();

        ring.add(2000, sample(2), refused(0));
        ring.add(3000, sample(3), refused(0));

        assertThat(before.times()).containsExactly(1000L);
        assertThat(before.of(HistoryRing.Series.ADMITTED_PER_S)).containsExactly(1f);
    }

    @Test
    void refusalsSinceATimeAreTheCounterIncreasesBetweenTheSamplesFromThatTime() {
        HistoryRing ring = new HistoryRing(10);
        ring.add(0, sample(0), refused(100));
        ring.add(60_000, sample(0), refused(103));
        ring.add(120_000, sample(0), refused(110));
        ring.add(180_000, sample(0), refused(111));

        HistoryRing.View v = ring.view();

        assertThat(v.refusedSince("window", 120_000)).isEqualTo(1);
        assertThat(v.refusedSince("window", 60_000)).isEqualTo(8);
        assertThat(v.refusedSince("window", 0)).isEqualTo(11);
        assertThat(v.refusedSince("window", 200_000)).isZero();
        assertThat(v.refusedSince("cooldown", 0)).isZero();
    }

    @Test
    void aCounterThatWentBackToZeroCountsFromZero() {
        HistoryRing ring = new HistoryRing(10);
        ring.add(0, sample(0), refused(50));
        ring.add(1000, sample(0), refused(4));

        assertThat(ring.view().refusedSince("window", 0)).isEqualTo(4);
    }

    @Test
    void refusesASampleOfTheWrongShape() {
        HistoryRing ring = new HistoryRing(2);

        assertThatThrownBy(() -> ring.add(0, new float[1], refused(0))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HistoryRing(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
