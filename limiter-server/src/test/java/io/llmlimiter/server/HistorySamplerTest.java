package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TargetReading;
import io.llmlimiter.client.TargetUsage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HistorySamplerTest {

    private static final Target A = Target.parse("p/a");
    private static final Target B = Target.parse("p/b");
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private static TargetSnapshot snap(Target t, long admitted, long tokens, long refusedWindow, long effectiveRequests,
                                       TargetReading.Waits waits) {
        LimitConfig config = LimitConfig.builder(t).limits("requests=60/60s,tokens=6000/60s").maxConcurrent(4).build();
        TargetUsage usage = new TargetUsage(t, T0, 2, 7, null, Duration.ofMillis(250), List.of(
                new TargetUsage.WindowUsage(Limit.parse("requests=60/60s"), 1, effectiveRequests,
                        effectiveRequests < 60 ? "429" : ""),
                new TargetUsage.WindowUsage(Limit.parse("tokens=6000/60s"), 100, 6000, "")));
        return new TargetSnapshot(config, usage, Map.of("admitted", admitted, "estimated_tokens", tokens,
                "refused_window", refusedWindow, "provider_429", admitted / 10), waits);
    }

    private static Snapshots.Reading reading(long seconds, TargetSnapshot... snaps) {
        return new Snapshots.Reading(T0.plusSeconds(seconds), 0, List.of(snaps));
    }

    private static float last(HistoryRing.View v, HistoryRing.Series s) {
        float[] values = v.of(s);
        return values[values.length - 1];
    }

    @Test
    void ratesAreCounterDifferencesOverTheTimeBetweenSamplesAndUnknownAtTheFirst() {
        HistorySampler sampler = new HistorySampler(null, 10, 10);
        TargetReading.Waits waits = new TargetReading.Waits(40, 2, Duration.ofMillis(12), Duration.ofMillis(340));

        sampler.sample(reading(0, snap(A, 100, 5000, 3, 60, TargetReading.Waits.NONE)));
        sampler.sample(reading(5, snap(A, 150, 7500, 8, 30, waits)));

        HistoryRing.View v = sampler.history(A).orElseThrow();
        assertThat(v.times()).containsExactly(T0.toEpochMilli(), T0.plusSeconds(5).toEpochMilli());
        assertThat(v.of(HistoryRing.Series.ADMITTED_PER_S)[0]).isNaN();
        assertThat(last(v, HistoryRing.Series.ADMITTED_PER_S)).isEqualTo(10f);
        assertThat(last(v, HistoryRing.Series.ESTIMATED_TOKENS_PER_S)).isEqualTo(500f);
        assertThat(last(v, HistoryRing.Series.REFUSED_PER_MIN)).isEqualTo(60f);
        assertThat(last(v, HistoryRing.Series.PROVIDER_429_PER_MIN)).isEqualTo(60f);
        // Limits as average rates: the learned 30 per 60 s is 0.5/s beside the configured 1/s.
        assertThat(last(v, HistoryRing.Series.REQUEST_LIMIT_PER_S)).isEqualTo(0.5f);
        assertThat(last(v, HistoryRing.Series.REQUEST_LIMIT_CONFIGURED_PER_S)).isEqualTo(1f);
        assertThat(last(v, HistoryRing.Series.TOKEN_LIMIT_PER_S)).isEqualTo(100f);
        assertThat(last(v, HistoryRing.Series.WAITING)).isEqualTo(7f);
        assertThat(last(v, HistoryRing.Series.IN_FLIGHT)).isEqualTo(2f);
        assertThat(last(v, HistoryRing.Series.MAX_CONCURRENT)).isEqualTo(4f);
        assertThat(v.of(HistoryRing.Series.WAIT_P50_MS)[0]).isNaN();
        assertThat(last(v, HistoryRing.Series.WAIT_P50_MS)).isEqualTo(12f);
        assertThat(last(v, HistoryRing.Series.WAIT_P99_MS)).isCloseTo(340f, within(0.01f));
        assertThat(v.refusedSince("window", 0)).isEqualTo(5);
    }

    @Test
    void aReadingNoNewerThanTheLastSampleAddsNothing() {
        HistorySampler sampler = new HistorySampler(null, 10, 10);
        Snapshots.Reading r = reading(0, snap(A, 1, 0, 0, 60, TargetReading.Waits.NONE));

        sampler.sample(r);
        sampler.sample(r);

        assertThat(sampler.history(A).orElseThrow().times()).hasSize(1);
    }

    @Test
    void historyIsKeptForAtMostTheCapOfTargetsAndDroppedWhenATargetGoes() {
        HistorySampler sampler = new HistorySampler(null, 10, 1);

        sampler.sample(reading(0, snap(A, 0, 0, 0, 60, TargetReading.Waits.NONE), snap(B, 0, 0, 0, 60, TargetReading.Waits.NONE)));
        assertThat(sampler.targets()).isEqualTo(1);
        assertThat(sampler.history(A)).isPresent();
        assertThat(sampler.history(B)).isEmpty();

        // A is deleted: its history goes, and B takes the free place.
        sampler.sample(reading(5, snap(B, 0, 0, 0, 60, TargetReading.Waits.NONE)));
        assertThat(sampler.history(A)).isEmpty();
        assertThat(sampler.history(B).orElseThrow().times()).hasSize(1);
    }

    @Test
    void eachTargetKeepsAtMostItsCapacityOfSamples() {
        HistorySampler sampler = new HistorySampler(null, 3, 10);
        for (int i = 0; i < 10; i++) {
            sampler.sample(reading(5L * i, snap(A, i, 0, 0, 60, TargetReading.Waits.NONE)));
        }

        HistoryRing.View v = sampler.history(A).orElseThrow();

        assertThat(v.times()).containsExactly(T0.plusSeconds(35).toEpochMilli(), T0.plusSeconds(40).toEpochMilli(),
                T0.plusSeconds(45).toEpochMilli());
        assertThat(v.of(HistoryRing.Series.ADMITTED_PER_S)).containsOnly(0.2f);
    }
}
