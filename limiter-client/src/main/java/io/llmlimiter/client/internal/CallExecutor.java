package io.llmlimiter.client.internal;

import io.llmlimiter.client.AsyncLlmCall;
import io.llmlimiter.client.CallFailedException;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.RetrySettings;
import io.llmlimiter.client.LlmCall;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.client.retry.FailureKind;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs calls under permits with the target's retry policy: acquire, call, complete with the
 * actual usage, release before any backoff, retry. The decisions live in {@link Execution}; this
 * class only sequences them, once blocking and once with futures. The async form runs the user's
 * call, the error classifier and every completion of the caller's future on the limiter's callback
 * executor, never on a Redis I/O thread. This class is thread-safe.
 */
final class CallExecutor {

    private static final Logger log = LoggerFactory.getLogger(CallExecutor.class);

    private final RedisLimiter limiter;

    CallExecutor(RedisLimiter limiter) {
        this.limiter = limiter;
    }

    <T> T execute(Target target, Tenant tenant, Estimate estimate, LlmCall<T> call) {
        Execution execution = new Execution(limiter, target, estimate);
        while (true) {
            Permit permit = limiter.acquire(target, tenant, estimate, execution.remaining());
            Attempt attempt = new Attempt(execution.attempt(), permit);
            T result;
            try {
                result = call.call(attempt);
            } catch (Exception | Error e) {
                permit.close();
                if (e instanceof InterruptedException || Thread.currentThread().isInterrupted()) {
                    Thread.currentThread().interrupt();
                    throw new CallFailedException(target, FailureKind.UNKNOWN, -1, execution.attempt(),
                            target + ": interrupted", e);
                }
                if (e instanceof Error err && !(e instanceof AssertionError)) {
                    throw err;
                }
                Duration delay = execution.onFailure(e, permit);
                sleep(target, delay);
                continue;
            }
            awaitRecorded(finish(execution, attempt, permit));
            return result;
        }
    }

    /**
     * Waits a little for the completion to be recorded, so a caller reads its own usage back; the
     * provider's result is returned either way (a completion that fails is retried, then logged and
     * metered by the permit).
     */
    private void awaitRecorded(CompletableFuture<Void> recorded) {
        try {
            recorded.get(recordWaitMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.debug("completion not recorded yet: {}", e.toString());
        }
    }

    private long recordWaitMillis() {
        return 2 * limiter.commandTimeout().toMillis();
    }

    <T> CompletableFuture<T> executeAsync(Target target, Tenant tenant, Estimate estimate, AsyncLlmCall<T> call) {
        CompletableFuture<T> result = limiter.callbacks().track(new CompletableFuture<>());
        limiter.retrySettingsAsync(target).whenComplete((settings, e) -> {
            AsyncRun<T> run = new AsyncRun<>(new Execution(limiter, target, estimate,
                    settings == null ? RetrySettings.DEFAULTS : settings), tenant, call, result);
            // Cancelled, timed out or failed by close: a pending acquire leaves the line.
            result.whenComplete((v, error) -> {
                if (error != null) {
                    run.cancelAcquire();
                }
            });
            runAsync(run);
        });
        return result;
    }

    /** One {@code executeAsync}: the steps run one after another, on the callback executor. */
    private static final class AsyncRun<T> {
        final Execution execution;
        final Tenant tenant;
        final AsyncLlmCall<T> call;
        final CompletableFuture<T> result;
        volatile CompletableFuture<Permit> acquiring;

        AsyncRun(Execution execution, Tenant tenant, AsyncLlmCall<T> call, CompletableFuture<T> result) {
            this.execution = execution;
            this.tenant = tenant;
            this.call = call;
            this.result = result;
        }

        void cancelAcquire() {
            CompletableFuture<Permit> a = acquiring;
            if (a != null) {
                a.cancel(false);
            }
        }
    }

    private <T> void runAsync(AsyncRun<T> run) {
        if (run.result.isDone()) {
            return;
        }
        Execution execution = run.execution;
        CompletableFuture<Permit> acquiring = limiter.acquireAsync(execution.target(), run.tenant, execution.estimate(),
                execution.remaining());
        run.acquiring = acquiring;
        if (run.result.isDone()) {
            acquiring.cancel(false);
            return;
        }
        acquiring.whenComplete((permit, acquireError) -> limiter.callbacks().dispatch(() -> {
            if (acquireError != null) {
                run.result.completeExceptionally(unwrap(acquireError));
            } else if (run.result.isDone()) {
                completion(permit, null);
            } else {
                call(run, permit);
            }
        }));
    }

    /** Runs the user's call on the callback executor; whatever it throws fails the attempt. */
    private <T> void call(AsyncRun<T> run, Permit permit) {
        // The provider is being called (and paid): close() no longer fails this future, its result counts.
        limiter.callbacks().untrack(run.result);
        Attempt attempt = new Attempt(run.execution.attempt(), permit);
        CompletionStage<T> stage;
        try {
            stage = run.call.call(attempt);
            if (stage == null) {
                stage = CompletableFuture.failedFuture(new NullPointerException("the call returned no stage"));
            }
        } catch (Throwable e) {
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((value, callError) -> limiter.callbacks().dispatch(
                () -> afterCall(run, attempt, permit, value, callError)));
    }

    private <T> void afterCall(AsyncRun<T> run, Attempt attempt, Permit permit, T value, Throwable callError) {
        if (callError == null) {
            // The provider answered and was paid: the result is delivered even if Redis is away.
            CompletableFuture<Void> recorded = finish(run.execution, attempt, permit);
            CompletableFuture<Void> settled = new CompletableFuture<>();
            recorded.whenComplete((ok, e) -> settled.complete(null));
            if (limiter.schedule(() -> settled.complete(null), recordWaitMillis(), TimeUnit.MILLISECONDS) == null) {
                settled.complete(null);
            }
            settled.whenComplete((ok, e) -> limiter.callbacks().dispatch(() -> run.result.complete(value)));
            return;
        }
        Throwable cause = unwrap(callError);
        CompletableFuture<Void> released = completion(permit, null);
        if (cause instanceof Error err && !(err instanceof AssertionError)) {
            run.result.completeExceptionally(err);
            return;
        }
        // Released before the backoff, so the next attempt (ours or another caller's) gets the slot.
        released.whenComplete((ok, releaseError) -> limiter.callbacks().dispatch(() -> {
            Duration delay;
            try {
                delay = run.execution.onFailure(cause, permit);
            } catch (Throwable e) {
                run.result.completeExceptionally(e);
                return;
            }
            if (limiter.schedule(() -> runAsync(run), delay.toNanos(), TimeUnit.NANOSECONDS) == null) {
                run.result.completeExceptionally(limiter.closedException(run.execution.target()));
            }
        }));
    }

    private CompletableFuture<Void> finish(Execution execution, Attempt attempt, Permit permit) {
        try {
            execution.onSuccess(attempt.headers());
        } catch (RuntimeException e) {
            log.warn("{} could not read the provider's rate-limit headers: {}", execution.target(), e.toString());
        }
        Attempt.Deferred deferred = attempt.deferred();
        if (deferred == null) {
            return completion(permit, attempt.reportedUsage());
        }
        // A streamed response: the permit completes when the stream ends, with what it reported.
        deferred.ended().whenComplete((usage, streamError) -> {
            if (streamError != null) {
                log.info("{} stream ended early ({}); the admission charge stands", execution.target(),
                        streamError.toString());
            }
            completion(permit, streamError == null ? usage : null);
        });
        return CompletableFuture.completedFuture(null);
    }

    /** Completes a permit without a hop to the callback executor: the steps here hop themselves. */
    private static CompletableFuture<Void> completion(Permit permit, io.llmlimiter.client.Usage usage) {
        return permit instanceof RedisPermit p ? p.completion(usage) : permit.completeAsync(usage);
    }

    private static void sleep(Target target, Duration delay) {
        try {
            Thread.sleep(delay.toMillis(), delay.toNanosPart() % 1_000_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CallFailedException(target, io.llmlimiter.client.retry.FailureKind.UNKNOWN, -1, 0,
                    target + ": interrupted while waiting to retry", e);
        }
    }

    private static Throwable unwrap(Throwable e) {
        while (e instanceof CompletionException && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    static Logger log() {
        return log;
    }
}
