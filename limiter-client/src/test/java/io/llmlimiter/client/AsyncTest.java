package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.llmlimiter.testing.BlockingDetector;
import io.llmlimiter.testing.FaultProxy;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The async API: never blocks the caller or a Redis I/O thread (BlockHound watches every test),
 * never runs user code on Redis threads, and cancellation, timeouts, errors and close clean up.
 */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AsyncTest {

    private static final Duration LONG = Duration.ofSeconds(20);

    private final AtomicInteger seq = new AtomicInteger();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final ExecutorService userPool = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "user-pool-" + seq.incrementAndGet());
        t.setDaemon(true);
        return t;
    });
    private RedisProcess redis;
    private LlmLimiter limiter;
    private RedisClient inspector;
    private StatefulRedisConnection<String, String> conn;

    @BeforeAll
    void connect(RedisProcess redis) {
        BlockingDetector.install();
        this.redis = redis;
        limiter = LlmLimiter.builder().redis(redis.uri()).meterRegistry(meters).executor(userPool).build();
        inspector = RedisClient.create(redis.uri());
        conn = inspector.connect();
    }

    @AfterAll
    void close() {
        limiter.close();
        conn.close();
        inspector.shutdown();
        userPool.shutdownNow();
    }

    @BeforeEach
    void clearDetector() {
        BlockingDetector.clear();
    }

    @AfterEach
    void nothingBlockedANonBlockingThread() {
        assertThat(BlockingDetector.violations()).as("blocking calls on non-blocking threads").isEmpty();
    }

    private Target target(String limits, int maxConcurrent) {
        Target t = new Target("async", "m" + seq.incrementAndGet());
        limiter.admin().putConfig(LimitConfig.builder(t).limits(limits).maxConcurrent(maxConcurrent)
                .leaseTtl(Duration.ofSeconds(3)).build());
        return t;
    }

    private RedisCommands<String, String> redis() {
        return conn.sync();
    }

    private long leases(Target t) {
        return redis().zcard("llmlim:{" + t + "}:leases");
    }

    private long waiting(Target t) {
        return redis().zcard("llmlim:{" + t + "}:q");
    }

    private double inFlightGauge(Target t) {
        return meters.get("llmlimiter.client.inflight").tag("target", t.toString()).gauge().value();
    }

    @Test
    void theDetectorSeesABlockingCallOnANonBlockingThread() throws Exception {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, BlockingDetector.NON_BLOCKING + "self-test");
        t.start();
        t.join();
        assertThat(BlockingDetector.violations()).anySatisfy(v -> assertThat(v).contains("sleep"));
        BlockingDetector.clear();
    }

    @Test
    void executeAsyncNeverBlocksTheCallerAndRunsUserCodeOnTheGivenExecutor() throws Exception {
        // A target never seen before: its config must be read from Redis, without blocking.
        Target t = new Target("async", "fresh" + seq.incrementAndGet());
        List<String> threads = new CopyOnWriteArrayList<>();
        AtomicReference<CompletableFuture<String>> future = new AtomicReference<>();

        Thread caller = new Thread(() -> future.set(limiter.executeAsync(t, Estimate.requestOnly(), ctx -> {
            threads.add("call:" + Thread.currentThread().getName());
            return CompletableFuture.completedFuture("done");
        }).thenApply(v -> {
            threads.add("continuation:" + Thread.currentThread().getName());
            return v;
        })), BlockingDetector.NON_BLOCKING + "caller");
        caller.start();
        caller.join();

        assertThat(future.get().get(10, TimeUnit.SECONDS)).isEqualTo("done");
        assertThat(threads).hasSize(2).allSatisfy(name -> assertThat(name).contains("user-pool-"));
    }

    @Test
    void acquireAsyncAndCompleteAsyncCompleteOnTheLimitersOwnPoolByDefault() throws Exception {
        try (LlmLimiter own = LlmLimiter.builder().redis(redis.uri()).build()) {
            // The window's one request is taken first, so the asynchronous acquire waits for it to free and
            // its future is still pending when the stages below are attached (a stage attached to a future
            // already complete runs on the attaching thread, whoever completed it).
            Target t = target("requests=1/1s", 4);
            own.acquire(t, Estimate.requestOnly(), LONG).complete(Usage.of(1, 1));
            List<String> threads = new CopyOnWriteArrayList<>();
            own.acquireAsync(t, Estimate.requestOnly(), LONG)
                    .thenCompose(p -> {
                        threads.add(Thread.currentThread().getName());
                        return p.completeAsync(Usage.of(1, 1));
                    })
                    .thenRun(() -> threads.add(Thread.currentThread().getName()))
                    .get(10, TimeUnit.SECONDS);
            assertThat(threads).hasSize(2).allSatisfy(name -> assertThat(name).startsWith("llmlim-async-"));
        }
    }

    @Test
    void chainedExecuteAsyncCallsSucceed() throws Exception {
        Target a = new Target("async", "chain-a" + seq.incrementAndGet());
        Target b = new Target("async", "chain-b" + seq.incrementAndGet());

        String result = limiter.executeAsync(a, Estimate.requestOnly(), ctx -> CompletableFuture.completedFuture("a"))
                .thenCompose(x -> limiter.executeAsync(b, Estimate.requestOnly(),
                        ctx -> CompletableFuture.completedFuture(x + "b")))
                .thenCompose(x -> limiter.executeAsync(a, Estimate.requestOnly(),
                        ctx -> CompletableFuture.completedFuture(x + "a")))
                .get(20, TimeUnit.SECONDS);

        assertThat(result).isEqualTo("aba");
        assertThat(limiter.admin().stats(a)).containsEntry("admitted", 2L).containsEntry("completed", 2L);
    }

    @Test
    void cancellingAWaitingAcquireLeavesTheLineAndTakesNoLease() throws Exception {
        Target t = target("requests=100/1s", 1);
        Permit held = limiter.acquire(t, Estimate.requestOnly(), LONG);
        CompletableFuture<Permit> waiting = limiter.acquireAsync(t, Estimate.requestOnly(), LONG);
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(t) == 1);

        waiting.cancel(true);

        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(t) == 0);
        held.close();
        // The freed slot is not taken by the cancelled waiter, now or later.
        await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> leases(t) == 0);
        assertThat(limiter.tryAcquire(t, Estimate.requestOnly())).hasValueSatisfying(Permit::close);
        assertThat(inFlightGauge(t)).isZero();
    }

    @Test
    void anOrTimeoutOnAcquireAsyncLeavesTheLineAndTakesNoLease() throws Exception {
        Target t = target("requests=100/1s", 1);
        Permit held = limiter.acquire(t, Estimate.requestOnly(), LONG);
        CompletableFuture<Permit> waiting = limiter.acquireAsync(t, Estimate.requestOnly(), LONG)
                .orTimeout(300, TimeUnit.MILLISECONDS);

        assertThatThrownBy(() -> waiting.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(TimeoutException.class);

        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(t) == 0);
        held.close();
        await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> leases(t) == 0);
        assertThat(inFlightGauge(t)).isZero();
    }

    @Test
    void anAdmissionThatArrivesAfterTheCancelIsReleased() throws Exception {
        Target t = target("requests=100/1s", 2);
        try (FaultProxy proxy = FaultProxy.start(redis);
             LlmLimiter viaProxy = LlmLimiter.builder().redis(proxy.uri()).commandTimeout(Duration.ofSeconds(5))
                     .build()) {
            viaProxy.tryAcquire(t, Estimate.requestOnly()).ifPresent(Permit::close);
            proxy.stall();
            CompletableFuture<Permit> f = viaProxy.acquireAsync(t, Estimate.requestOnly(), LONG);
            f.cancel(false);
            proxy.resume();

            // Redis admitted it after the cancel; the client gives the lease straight back.
            await().atMost(Duration.ofSeconds(5)).until(() -> viaProxy.admin().stats(t).get("admitted") == 2L
                    && leases(t) == 0);
            assertThat(f).isCancelled();
        }
    }

    @Test
    void anErrorThrownByTheCallFailsTheFutureAndReleasesThePermitAtOnce() {
        Target t = target("requests=100/1s", 1);

        CompletableFuture<String> thrown = limiter.executeAsync(t, Estimate.requestOnly(), ctx -> {
            throw new OutOfMemoryError("simulated");
        });
        assertThatThrownBy(() -> thrown.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(OutOfMemoryError.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> leases(t) == 0);

        CompletableFuture<String> failedStage = limiter.executeAsync(t, Estimate.requestOnly(),
                ctx -> CompletableFuture.failedFuture(new StackOverflowError("simulated")));
        assertThatThrownBy(() -> failedStage.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(StackOverflowError.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> leases(t) == 0);
        assertThat(limiter.admin().stats(t)).containsEntry("admitted", 2L).doesNotContainKey("retries");
        assertThat(inFlightGauge(t)).isZero();
    }

    @Test
    void closeFailsPendingFuturesLeavesTheLineAndLaterCallsFailFast() throws Exception {
        Target t = target("requests=100/1s", 1);
        Permit held = limiter.acquire(t, Estimate.requestOnly(), LONG);
        LlmLimiter closing = LlmLimiter.builder().redis(redis.uri()).build();
        CompletableFuture<Permit> acquiring = closing.acquireAsync(t, Estimate.requestOnly(), LONG);
        CompletableFuture<String> executing = closing.executeAsync(t, Estimate.requestOnly(),
                ctx -> CompletableFuture.completedFuture("never"));
        Target free = target("requests=100/1s", 4);
        CompletableFuture<String> providerAnswer = new CompletableFuture<>();
        CompletableFuture<String> running = closing.executeAsync(free, Estimate.requestOnly(), ctx -> providerAnswer);
        // Both wait in the closing client's local line, whose head holds its one Redis ticket.
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(t) == 1 && leases(free) == 1);

        closing.close();
        // A provider call already under way is paid for: its answer is delivered.
        providerAnswer.complete("paid");
        assertThat(running.get(5, TimeUnit.SECONDS)).isEqualTo("paid");

        for (CompletableFuture<?> f : List.of(acquiring, executing)) {
            assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(LimiterUnavailableException.class).hasMessageContaining("limiter closed");
        }
        assertThat(waiting(t)).isZero();
        assertThatThrownBy(() -> closing.acquireAsync(t, Estimate.requestOnly(), LONG).get(1, TimeUnit.SECONDS))
                .cause().hasMessageContaining("limiter closed");
        assertThatThrownBy(() -> closing.execute(t, Estimate.requestOnly(), ctx -> "x"))
                .isInstanceOf(LimiterUnavailableException.class).hasMessageContaining("limiter closed");
        held.close();
        assertThat(leases(t)).isZero();
    }

    @Test
    void interruptingABlockingExecuteReleasesEverythingAndKeepsTheInterrupt() throws Exception {
        Target t = target("requests=100/1s", 1);
        AtomicReference<Throwable> waitingOutcome = new AtomicReference<>();
        AtomicReference<Boolean> flagKept = new AtomicReference<>();

        // Interrupted while waiting for a permit.
        Permit held = limiter.acquire(t, Estimate.requestOnly(), LONG);
        Thread waiter = new Thread(() -> {
            try {
                limiter.execute(t, Estimate.requestOnly(), ctx -> "never");
            } catch (Throwable e) {
                waitingOutcome.set(e);
                flagKept.set(Thread.currentThread().isInterrupted());
            }
        });
        waiter.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(t) == 1);
        waiter.interrupt();
        waiter.join(5000);
        assertThat(waitingOutcome.get()).isInstanceOf(RateLimitedException.class);
        assertThat(flagKept.get()).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(t) == 0);
        held.close();

        // Interrupted during the call: released, not retried.
        AtomicInteger calls = new AtomicInteger();
        AtomicReference<Throwable> callOutcome = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                limiter.execute(t, Estimate.requestOnly(), ctx -> {
                    calls.incrementAndGet();
                    Thread.sleep(30_000);
                    return "never";
                });
            } catch (Throwable e) {
                callOutcome.set(e);
                flagKept.set(Thread.currentThread().isInterrupted());
            }
        });
        caller.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> leases(t) == 1);
        caller.interrupt();
        caller.join(5000);
        assertThat(callOutcome.get()).isInstanceOf(CallFailedException.class).hasMessageContaining("interrupted");
        assertThat(flagKept.get()).isTrue();
        assertThat(calls.get()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> leases(t) == 0);
        assertThat(inFlightGauge(t)).isZero();
    }

    @Test
    void cancellingExecuteAsyncWhileItWaitsLeavesTheLineAndNeverCallsTheProvider() throws Exception {
        Target t = target("requests=100/1s", 1);
        Permit held = limiter.acquire(t, Estimate.requestOnly(), LONG);
        AtomicInteger calls = new AtomicInteger();
        CompletableFuture<String> f = limiter.executeAsync(t, Estimate.requestOnly(), ctx -> {
            calls.incrementAndGet();
            return CompletableFuture.completedFuture("x");
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(t) == 1);

        f.cancel(false);

        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(t) == 0);
        held.close();
        await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> leases(t) == 0);
        assertThat(calls.get()).isZero();
        assertThatThrownBy(f::join).isInstanceOf(CancellationException.class);
    }

    @Test
    void usageFromAnAsyncCallIsRecorded() throws Exception {
        Target t = target("tokens=100000/60s", 4);
        String v = limiter.executeAsync(t, Estimate.of(100, 100), ctx -> {
            ctx.usage(Usage.of(70, 30));
            return CompletableFuture.supplyAsync(() -> "ok");
        }).get(10, TimeUnit.SECONDS);
        assertThat(v).isEqualTo("ok");
        Map<String, Long> stats = limiter.admin().stats(t);
        assertThat(stats).containsEntry("completed", 1L).containsEntry("actual_input_tokens", 70L);
    }
}
