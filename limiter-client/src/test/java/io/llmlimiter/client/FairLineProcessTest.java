package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The fair line across real JVMs: a crashed head, and a large request behind a stream of small ones. */
@WithRedis
class FairLineProcessTest {

    private static final Duration TICKET_TTL = Duration.ofSeconds(2);
    private static final Duration SLACK = Duration.ofMillis(1500);

    @Test
    void aKilledHeadOfTheLineDelaysTheNextAdmissionByAtMostTheTicketTtl(RedisProcess redis) throws Exception {
        Target target = Target.parse("fair/crash");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("requests=1000/1s").maxConcurrent(1)
                    .leaseTtl(Duration.ofSeconds(10)).build());
            Permit slot = limiter.acquire(target, Estimate.requestOnly(), Duration.ofSeconds(5));
            String ttl = Long.toString(TICKET_TTL.toMillis());
            try (JvmProcess head = JvmProcess.start(LineWorker.class, redis.uri(), target.toString(), ttl, "0", "1", "60000")) {
                awaitWaiting(limiter, target, 1, head);
                try (JvmProcess second = JvmProcess.start(LineWorker.class, redis.uri(), target.toString(), ttl, "0", "1", "60000")) {
                    awaitWaiting(limiter, target, 2, second);
                    try (JvmProcess third = JvmProcess.start(LineWorker.class, redis.uri(), target.toString(), ttl, "0", "1", "60000")) {
                        awaitWaiting(limiter, target, 3, third);
                        long admitted = admitted(limiter, target);

                        head.kill();
                        long killed = System.nanoTime();
                        slot.close();
                        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10))
                                .until(() -> admitted(limiter, target) > admitted);
                        Duration delay = Duration.ofNanos(System.nanoTime() - killed);

                        assertThat(delay).as("next admission after the head was killed")
                                .isLessThanOrEqualTo(TICKET_TTL.plus(SLACK));
                        // The oldest live waiter went first; the newest still waits behind it.
                        await().atMost(Duration.ofSeconds(5)).until(() -> second.output().contains("ADMITTED"));
                        assertThat(third.output()).doesNotContain("ADMITTED");
                        assertThat(limiter.admin().usage(target).waiting()).isEqualTo(1);
                    }
                }
            }
        }
    }

    @Test
    void aLargeRequestBehindAStreamOfSmallOnesFromOtherJvmsIsAdmittedWithinTwoWindows(RedisProcess redis)
            throws Exception {
        Target target = Target.parse("fair/mixed");
        Duration window = Duration.ofSeconds(2);
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            limiter.admin().putConfig(LimitConfig.builder(target).limits("tokens=1000/2s").maxConcurrent(0)
                    .leaseTtl(Duration.ofSeconds(10)).build());
            String ttl = Long.toString(TICKET_TTL.toMillis());
            try (JvmProcess s1 = JvmProcess.start(LineWorker.class, redis.uri(), target.toString(), ttl, "100", "0", "0");
                 JvmProcess s2 = JvmProcess.start(LineWorker.class, redis.uri(), target.toString(), ttl, "100", "0", "0")) {
                // Both streams run and keep the window full.
                await().atMost(Duration.ofSeconds(60)).until(() -> count(s1.output(), "ADMITTED") >= 5
                        && count(s2.output(), "ADMITTED") >= 5);
                try (JvmProcess large = JvmProcess.start(LineWorker.class, redis.uri(), target.toString(), ttl, "900", "1", "0")) {
                    await().atMost(Duration.ofSeconds(60)).until(() -> large.output().contains("ADMITTED"));
                    Matcher m = Pattern.compile("ADMITTED (\\d+)").matcher(large.output());
                    assertThat(m.find()).isTrue();
                    // Two windows, each counting an admission for its length plus the default delivery margin.
                    assertThat(Duration.ofMillis(Long.parseLong(m.group(1)))).as(large.output())
                            .isLessThanOrEqualTo(window.plus(LimitConfig.DEFAULT_DELIVERY_MARGIN).multipliedBy(2));
                    // The small ones kept flowing before and after it.
                    int before = count(s1.output(), "ADMITTED") + count(s2.output(), "ADMITTED");
                    await().atMost(window.multipliedBy(3)).until(
                            () -> count(s1.output(), "ADMITTED") + count(s2.output(), "ADMITTED") > before);
                }
            }
        }
    }

    private static void awaitWaiting(LlmLimiter limiter, Target target, long n, JvmProcess jvm) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> jvm.output().contains("WAITING") && limiter.admin().usage(target).waiting() == n);
    }

    private static long admitted(LlmLimiter limiter, Target target) {
        return limiter.admin().stats(target).getOrDefault("admitted", 0L);
    }

    private static int count(String text, String word) {
        return (int) List.of(text.split("\n")).stream().filter(l -> l.startsWith(word)).count();
    }
}
