package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The behaviour suite of the client API, in real time with short windows; run against every
 * kind of Redis deployment by its subclasses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class LimiterBehaviourSuite {

    protected LlmLimiter limiter;
    private final AtomicInteger seq = new AtomicInteger();

    /** @return the URI the suite's limiter connects to */
    protected abstract String redisUri();

    /** Empties the script cache of every Redis node. */
    protected abstract void scriptFlush();

    /** @return the targets this suite configured so far */
    protected final List<Target> targetsUsed() {
        List<Target> out = new ArrayList<>();
        for (int i = 1; i <= seq.get(); i++) {
            out.add(new Target("api", "m" + i));
        }
        return out;
    }

    @BeforeAll
    void connect() {
        limiter = LlmLimiter.builder().redis(redisUri()).build();
    }

    @AfterAll
    void close() {
        limiter.close();
    }

    protected Target configured(String limits, int maxConcurrent, Duration leaseTtl) {
        Target t = new Target("api", "m" + seq.incrementAndGet());
        limiter.admin().putConfig(LimitConfig.builder(t).limits(limits).maxConcurrent(maxConcurrent).leaseTtl(leaseTtl).build());
        return t;
    }

    @Test
    void acquireCallCompleteRecordsUsage() {
        Target t = configured("requests=10/1s,tokens=5000/1s", 0, Duration.ofSeconds(10));
        try (Permit p = limiter.acquire(t, Estimate.of(300, 200), Duration.ofSeconds(1))) {
            p.complete(Usage.of(280, 120));
        }
        assertThat(limiter.admin().stats(t)).containsEntry("admitted", 1L).containsEntry("actual_input_tokens", 280L)
                .containsEntry("actual_output_tokens", 120L);
        assertThat(limiter.admin().usage(t).inFlight()).isZero();
    }

    @Test
    void tryAcquireNeverWaits() {
        Target t = configured("requests=1/10s", 0, Duration.ofSeconds(10));
        assertThat(limiter.tryAcquire(t, Estimate.requestOnly())).isPresent();
        assertThat(limiter.tryAcquire(t, Estimate.requestOnly())).isEmpty();
    }

    @Test
    void acquireWaitsForTheWindowAndFailsFastWhenItCannotMakeIt() {
        Target t = configured("requests=2/600ms", 0, Duration.ofSeconds(10));
        limiter.acquire(t, Estimate.requestOnly(), Duration.ZERO.plusMillis(1)).close();
        limiter.acquire(t, Estimate.requestOnly(), Duration.ofMillis(1)).close();

        assertThatThrownBy(() -> limiter.acquire(t, Estimate.requestOnly(), Duration.ofMillis(50)))
                .isInstanceOfSatisfying(RateLimitedException.class, e -> {
                    assertThat(e.limit()).isEqualTo("requests=2/600ms");
                    // The oldest call counts for its window plus the delivery margin.
                    assertThat(e.retryAfter()).isPositive()
                            .isLessThanOrEqualTo(Duration.ofMillis(600).plus(LimitConfig.DEFAULT_DELIVERY_MARGIN));
                });
        Permit p = limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(2));
        p.close();
    }

    @Test
    void anEstimateThatCanNeverFitFailsAtOnceNamingTheLimit() {
        Target t = configured("tokens=1000/60s", 0, Duration.ofSeconds(10));
        assertThatThrownBy(() -> limiter.acquire(t, Estimate.tokens(50_000), Duration.ofMinutes(5)))
                .isInstanceOfSatisfying(EstimateTooLargeException.class,
                        e -> assertThat(e.limit()).isEqualTo("tokens=1000/60s"));
    }

    @Test
    void anUnknownTargetGetsTheConservativeDefault() {
        Target t = new Target("unknown", "m" + System.nanoTime());
        limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();
        // Marked as written by default, so the dashboard and the client's gauge can say so.
        assertThat(limiter.admin().config(t))
                .contains(LimitConfig.conservativeDefault(t).toBuilder().autoCreated(true).build());
    }

    @Test
    void aModelNameWithSlashesIsOneTargetWithItsOwnBudget() {
        // Router-style names: the provider is the first segment, the rest is the model; the hash tag
        // {provider/model} keeps all of the target's keys in one slot.
        Target routed = Target.parse("router" + seq.incrementAndGet() + "/openai/gpt-4o");
        Target sibling = new Target(routed.provider(), "openai");
        limiter.admin().putConfig(LimitConfig.builder(routed).limits("requests=2/10s").build());
        limiter.admin().putConfig(LimitConfig.builder(sibling).limits("requests=1/10s").build());

        try (Permit p = limiter.acquire(routed, Estimate.of(30, 20), Duration.ofSeconds(1))) {
            p.complete(Usage.of(25, 10));
        }
        limiter.tryAcquire(routed, Estimate.requestOnly()).orElseThrow().close();
        assertThat(limiter.tryAcquire(routed, Estimate.requestOnly())).isEmpty();
        limiter.tryAcquire(sibling, Estimate.requestOnly()).orElseThrow().close();

        assertThat(routed.model()).isEqualTo("openai/gpt-4o");
        assertThat(limiter.admin().targets()).contains(routed, sibling);
        assertThat(limiter.admin().stats(routed)).containsEntry("admitted", 2L).containsEntry("actual_input_tokens", 25L);
        assertThat(limiter.admin().usage(routed).inFlight()).isZero();
    }

    @Test
    void aConcurrencyWaiterIsWokenWhenAPermitIsReleased() throws Exception {
        Target t = configured("requests=100/1s", 1, Duration.ofSeconds(30));
        Permit held = limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1));
        CompletableFuture<Permit> waiting = limiter.acquireAsync(t, Estimate.requestOnly(), Duration.ofSeconds(20));
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !waiting.isDone());

        long released = System.nanoTime();
        held.close();
        Permit next = waiting.get(5, java.util.concurrent.TimeUnit.SECONDS);
        // Woken over pub/sub, not by the lease's 30 s expiry.
        assertThat(Duration.ofNanos(System.nanoTime() - released)).isLessThan(Duration.ofSeconds(5));
        next.close();
    }

    @Test
    void aLeaseIsRenewedWhileTheCallRuns() {
        Target t = configured("requests=100/1s", 1, Duration.ofMillis(600));
        try (Permit p = limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1))) {
            // Three TTLs later the lease still holds the only slot.
            await().pollDelay(Duration.ofMillis(1800)).atMost(Duration.ofSeconds(3)).until(() -> true);
            assertThat(limiter.tryAcquire(t, Estimate.requestOnly())).isEmpty();
            assertThat(limiter.admin().usage(t).inFlight()).isEqualTo(1);
        }
        assertThat(limiter.tryAcquire(t, Estimate.requestOnly())).isPresent();
    }

    @Test
    void aLimitChangedMidRunAppliesOnTheNextAcquireAndKeepsTheWindow() {
        Target t = configured("requests=5/30s", 0, Duration.ofSeconds(10));
        for (int i = 0; i < 3; i++) {
            limiter.acquire(t, Estimate.requestOnly(), Duration.ofSeconds(1)).close();
        }
        limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=4/30s").build());
        assertThat(limiter.tryAcquire(t, Estimate.requestOnly())).isPresent();
        assertThat(limiter.tryAcquire(t, Estimate.requestOnly())).isEmpty();
        assertThat(limiter.admin().usage(t).windows().get(0).used()).isEqualTo(4);
    }

    @Test
    void scriptFlushMidRunIsInvisibleToCallers() throws Exception {
        Target t = configured("requests=100000/1s", 0, Duration.ofSeconds(10));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong ok = new AtomicLong();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            futures.add(pool.submit(() -> {
                while (!stop.get()) {
                    try (Permit p = limiter.acquire(t, Estimate.tokens(10), Duration.ofSeconds(1))) {
                        p.complete(Usage.of(5, 5));
                        ok.incrementAndGet();
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }
            }));
        }
        try {
            for (int i = 0; i < 10; i++) {
                long before = ok.get();
                await().atMost(Duration.ofSeconds(5)).until(() -> ok.get() > before + 20);
                scriptFlush();
            }
        } finally {
            stop.set(true);
            for (Future<?> f : futures) {
                f.get();
            }
            pool.shutdown();
        }
        assertThat(errors).isEmpty();
        assertThat(ok.get()).isGreaterThan(200);
    }

    @Test
    void aLargeRequestQueuedBehindAStreamOfSmallOnesIsAdmittedInBoundedTime() throws Exception {
        Target t = configured("tokens=1000/500ms", 0, Duration.ofSeconds(10));
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(6);
        for (int i = 0; i < 6; i++) {
            pool.submit(() -> {
                while (!stop.get()) {
                    try {
                        limiter.acquire(t, Estimate.tokens(100), Duration.ofSeconds(2)).close();
                    } catch (RuntimeException e) {
                        // deadline under contention: try again
                    }
                }
            });
        }
        try {
            await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> true);
            long start = System.nanoTime();
            Optional<Permit> large = Optional.of(limiter.acquire(t, Estimate.tokens(900), Duration.ofSeconds(10)));
            // The line is FIFO: at most one window for those ahead of it plus one for its own tokens.
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
            large.get().close();
        } finally {
            stop.set(true);
            pool.shutdown();
            pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
