package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.testing.BlockingDetector;
import io.llmlimiter.testing.FaultProxy;
import io.llmlimiter.testing.LogCapture;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Replies lost and connections cut through a fault proxy: nothing is counted twice, no slot is
 * held for a lease TTL, and a result the provider already gave is never thrown away.
 */
@WithRedis
class LostReplyTest {

    private static final Duration COMMAND_TIMEOUT = Duration.ofMillis(300);
    private static final AtomicInteger SEQ = new AtomicInteger();

    private final RedisProcess redis;
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private FaultProxy proxy;
    private LlmLimiter limiter;
    private RedisClient inspector;
    private StatefulRedisConnection<String, String> conn;

    LostReplyTest(RedisProcess redis) {
        this.redis = redis;
    }

    @BeforeEach
    void start() {
        BlockingDetector.install();
        BlockingDetector.clear();
        proxy = FaultProxy.start(redis);
        limiter = LlmLimiter.builder().redis(proxy.uri()).commandTimeout(COMMAND_TIMEOUT).meterRegistry(meters).build();
        inspector = RedisClient.create(redis.uri());
        conn = inspector.connect();
    }

    @AfterEach
    void stop() {
        limiter.close();
        proxy.close();
        conn.close();
        inspector.shutdown();
        assertThat(BlockingDetector.violations()).as("blocking calls on non-blocking threads").isEmpty();
    }

    private Target target(Duration leaseTtl) {
        Target t = new Target("lost", "m" + SEQ.incrementAndGet());
        limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=100/60s,tokens=100000/60s").maxConcurrent(4)
                .leaseTtl(leaseTtl).accounting(Accounting.ACTUAL).build());
        return t;
    }

    private long tokensUsed(Target t) {
        return limiter.admin().usage(t).windows().stream().filter(w -> w.limit().resource() == Resource.TOKENS)
                .findFirst().orElseThrow().used();
    }

    private long leases(Target t) {
        return conn.sync().zcard("llmlim:{" + t + "}:leases");
    }

    private long logEntries(Target t) {
        return io.llmlimiter.testing.RequestLogs.read(inspector, t.toString()).size();
    }

    private Map<String, Long> stats(Target t) {
        return conn.sync().hgetall("llmlim:{" + t + "}:stats").entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> Long.parseLong(e.getValue())));
    }

    @Test
    void anAcquireWhoseReplyIsLostIsResentUnderTheSameIdAndCountedOnce() throws Exception {
        Target t = target(Duration.ofSeconds(30));
        proxy.dropReplies();

        CompletableFuture<Permit> f = limiter.acquireAsync(t, Estimate.tokens(10), Duration.ofSeconds(5));
        // Redis admitted it; the answer is gone, and the client's command times out and is resent.
        await().atMost(Duration.ofSeconds(3)).until(() -> stats(t).getOrDefault("admitted", 0L) == 1);
        await().pollDelay(COMMAND_TIMEOUT.plusMillis(150)).atMost(Duration.ofSeconds(2)).until(() -> true);
        proxy.restore();

        Permit p = f.get(10, TimeUnit.SECONDS);
        assertThat(logEntries(t)).isEqualTo(1);
        assertThat(leases(t)).isEqualTo(1);
        assertThat(stats(t)).containsEntry("admitted", 1L);
        assertThat(conn.sync().zscore("llmlim:{" + t + "}:leases", p.leaseId())).isNotNull();
        p.complete(Usage.of(5, 5));
        assertThat(leases(t)).isZero();
    }

    @Test
    void anAcquireWhoseRepliesStayLostIsReleasedInsteadOfHoldingASlotForTheLeaseTtl() throws Exception {
        Target t = target(Duration.ofSeconds(60));
        proxy.dropReplies();

        CompletableFuture<Permit> f = limiter.acquireAsync(t, Estimate.tokens(10), Duration.ofMillis(200));
        assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(LimiterUnavailableException.class);

        // Redis admitted it, but the caller gave up: the client releases it (its release runs, though
        // its reply is lost too) well before the 60 s lease TTL. Counted once.
        await().atMost(Duration.ofSeconds(5)).until(() -> leases(t) == 0);
        assertThat(logEntries(t)).isEqualTo(1);
        assertThat(stats(t)).containsEntry("admitted", 1L);
        proxy.restore();
    }

    @Test
    void executeReturnsThePaidResultWhenTheConnectionIsCutMidComplete() {
        Target t = target(Duration.ofSeconds(60));

        String answer = limiter.execute(t, Estimate.of(100, 100), ctx -> {
            proxy.cut();
            ctx.usage(Usage.of(70, 30));
            return "paid";
        });
        assertThat(answer).isEqualTo("paid");
        proxy.restore();

        // The completion was retried in the background and recorded once Redis was reachable again.
        await().atMost(Duration.ofSeconds(15)).until(() -> leases(t) == 0
                && stats(t).getOrDefault("completed", 0L) == 1);
        assertThat(stats(t)).containsEntry("actual_input_tokens", 70L).containsEntry("actual_output_tokens", 30L);
        assertThat(meters.get("llmlimiter.client.inflight").tag("target", t.toString()).gauge().value()).isZero();
    }

    @Test
    void executeAsyncReturnsThePaidResultWhenTheConnectionIsCutMidComplete() throws Exception {
        Target t = target(Duration.ofSeconds(60));

        String answer = limiter.executeAsync(t, Estimate.of(100, 100), ctx -> {
            proxy.cut();
            ctx.usage(Usage.of(70, 30));
            return CompletableFuture.completedFuture("paid");
        }).get(10, TimeUnit.SECONDS);
        assertThat(answer).isEqualTo("paid");
        proxy.restore();

        await().atMost(Duration.ofSeconds(15)).until(() -> leases(t) == 0
                && stats(t).getOrDefault("completed", 0L) == 1);
    }

    @Test
    void aCompletionThatNeverReachesRedisIsLoggedAndMeteredAndTheResultStillReturned() {
        Target t = target(Duration.ofSeconds(60));
        try (LogCapture logs = LogCapture.start(Level.WARN)) {
            String answer = limiter.execute(t, Estimate.of(100, 100), ctx -> {
                proxy.cut();
                return "paid";
            });
            assertThat(answer).isEqualTo("paid");

            await().atMost(Duration.ofSeconds(30)).until(() -> meters.find("llmlimiter.client.redis.lost")
                    .tag("operation", "complete").counters().stream().mapToDouble(c -> c.count()).sum() == 1.0);
            assertThat(logs.text()).contains("could not complete lease");
        }
        assertThat(meters.get("llmlimiter.client.inflight").tag("target", t.toString()).gauge().value()).isZero();
    }

    @Test
    void completeAfterTheLeaseExpiredStillRecordsTheUsageAndTheGaugeGoesDown() {
        Target t = target(Duration.ofSeconds(1));
        try (LogCapture logs = LogCapture.start(Level.WARN)) {
            Permit p = limiter.acquire(t, Estimate.of(100, 100), Duration.ofSeconds(1));
            proxy.cut();
            await().pollDelay(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> true);
            // Another worker's acquire drops the lease that was not renewed in time.
            try (LlmLimiter other = LlmLimiter.builder().redis(redis.uri()).build()) {
                other.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();
            }
            assertThat(leases(t)).isZero();
            proxy.restore();
            // The first renewal that reaches Redis learns the lease is gone.
            await().atMost(Duration.ofSeconds(10)).until(() -> logs.text().contains("expired before renewal"));

            p.complete(Usage.of(70, 30));
        }
        // The other worker's call and this one; the window holds the actual usage, not the estimate.
        assertThat(stats(t)).containsEntry("completed", 2L).containsEntry("actual_input_tokens", 70L);
        assertThat(tokensUsed(t)).isEqualTo(100);
        assertThat(meters.get("llmlimiter.client.inflight").tag("target", t.toString()).gauge().value()).isZero();
    }
}
