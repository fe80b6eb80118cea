package io.llmlimiter.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TargetReading;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@WithRedis
class WaitTimesTest {

    @Test
    void percentilesAreNearestRank() {
        long[] sorted = new long[100];
        for (int i = 0; i < 100; i++) {
            sorted[i] = i + 1;
        }

        assertThat(WaitTimes.percentile(sorted, 0.50)).isEqualTo(50);
        assertThat(WaitTimes.percentile(sorted, 0.99)).isEqualTo(99);
        assertThat(WaitTimes.percentile(new long[] {7}, 0.99)).isEqualTo(7);
        assertThat(WaitTimes.percentile(new long[0], 0.5)).isZero();
    }

    @Test
    void aTargetKeepsOnlyItsLatestWaitsAndOnlyThoseInTheSpan() {
        WaitTimes.Recent r = new WaitTimes.Recent();
        for (int i = 0; i < WaitTimes.SAMPLES + 10; i++) {
            r.add(1_000 + i, i);
        }

        long[] all = r.since(0);
        long[] late = r.since(1_000 + WaitTimes.SAMPLES + 5);

        assertThat(all).hasSize(WaitTimes.SAMPLES);
        assertThat(all[0]).isEqualTo(10);
        assertThat(late).containsExactly(WaitTimes.SAMPLES + 5, WaitTimes.SAMPLES + 6, WaitTimes.SAMPLES + 7,
                WaitTimes.SAMPLES + 8, WaitTimes.SAMPLES + 9);
    }

    @Test
    void clientsReportsCombineIntoAWeightedMedianAndTheHighestP99() {
        List<long[]> reports = new ArrayList<>();
        reports.add(new long[] {10, 5_000, 9_000, 0});
        reports.add(new long[] {30, 1_000, 400_000, 0});
        reports.add(new long[] {5, 80_000, 90_000, 0});

        TargetReading.Waits w = RedisAdmin.combine(reports);

        assertThat(w.admissions()).isEqualTo(45);
        assertThat(w.clients()).isEqualTo(3);
        assertThat(w.p50()).isEqualTo(Duration.ofMillis(1));
        assertThat(w.p99()).isEqualTo(Duration.ofMillis(400));
        assertThat(RedisAdmin.combine(new ArrayList<>())).isEqualTo(TargetReading.Waits.NONE);
        assertThat(RedisAdmin.parseWaits("1 2 3")).isNull();
        assertThat(RedisAdmin.parseWaits("1 2 3 x")).isNull();
    }

    @Test
    void admissionsArePublishedAndReadWithTheTargetAndAGoneClientsReportIsDropped(RedisProcess redis) {
        Target t = Target.parse("waits/m1");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             RedisClient client = RedisClient.create(redis.uri());
             StatefulRedisConnection<String, String> c = client.connect()) {
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/60s").build());
            c.sync().hset(WaitTimes.key(t), "gone-client", "5 1000 2000 " + (System.currentTimeMillis() - 120_000));
            for (int i = 0; i < 5; i++) {
                try (Permit p = limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(5))) {
                    assertThat(p).isNotNull();
                }
            }

            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                TargetReading r = limiter.admin().read(List.of(t)).get(0);
                assertThat(r.waits().admissions()).isEqualTo(5);
                assertThat(r.waits().clients()).isEqualTo(1);
                assertThat(r.waits().p99()).isGreaterThanOrEqualTo(r.waits().p50());
            });
            // The stale report is deleted in the background as it is read.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                Map<String, String> fields = c.sync().hgetall(WaitTimes.key(t));
                assertThat(fields).doesNotContainKey("gone-client").hasSize(1);
            });
            assertThat(c.sync().pttl(WaitTimes.key(t))).isBetween(1L, WaitTimes.TTL.toMillis());
        }
    }
}
