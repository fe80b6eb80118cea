package io.llmlimiter.client.internal;

import io.llmlimiter.client.AsyncLlmCall;
import io.llmlimiter.client.CallFailedException;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimiterException;
import io.llmlimiter.client.LlmCall;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs calls under permits with the target's retry policy: acquire, call, complete with the
 * actual usage, release before any backoff, retry. The decisions live in {@link Execution}; this
 * class only sequences them, once blocking and once with futures. This class is thread-safe.
 */
final class CallExecutor {

    private static final Logger log = LoggerFactory.getLogger(CallExecutor.class);

    private final RedisLimiter limiter;

    CallExecutor(RedisLimiter limiter) {
        this.limiter = limiter;
    }

    <T> T execute(Target target, Estimate estimate, LlmCall<T> call) {
        Execution execution = new Execution(limiter, target, estimate);
        while (true) {
            Permit permit = limiter.acquire(target, estimate, execution.remaining());
            Attempt attempt = new Attempt(execution.attempt(), permit);
            T result;
            try {
                result = call.call(attempt);
            } catch (Exception | Error e) {
                permit.close();
                if (e instanceof Error err && !(e instanceof AssertionError)) {
                    throw err;
                }
                Duration delay = execution.onFailure(e, permit);
                sleep(target, delay);
                continue;
            }
            finish(execution, attempt, permit).join();
            return result;
        }
    }

    <T> CompletableFuture<T> executeAsync(Target target, Estimate estimate, AsyncLlmCall<T> call) {
        Execution execution = new Execution(limiter, target, estimate);
        CompletableFuture<T> result = new CompletableFuture<>();
        runAsync(execution, call, result);
        return result;
    }

    private <T> void runAsync(Execution execution, AsyncLlmCall<T> call, CompletableFuture<T> result) {
        Target target = execution.target();
        limiter.acquireAsync(target, execution.estimate(), execution.remaining()).whenComplete((permit, acquireError) -> {
            if (acquireError != null) {
                result.completeExceptionally(unwrap(acquireError));
                return;
            }
            Attempt attempt = new Attempt(execution.attempt(), permit);
            CompletionStage<T> stage;
            try {
                stage = call.call(attempt);
            } catch (RuntimeException e) {
                stage = CompletableFuture.failedFuture(e);
            }
            stage.whenComplete((value, callError) -> {
                if (callError == null) {
                    finish(execution, attempt, permit).whenComplete((ok, e) -> {
                        if (e != null) {
                            result.completeExceptionally(unwrap(e));
                        } else {
                            result.complete(value);
                        }
                    });
                    return;
                }
                permit.completeAsync(null).whenComplete((ok, releaseError) -> {
                    Duration delay;
                    try {
                        delay = execution.onFailure(unwrap(callError), permit);
                    } catch (LimiterException e) {
                        result.completeExceptionally(e);
                        return;
                    }
                    limiter.timer().schedule(() -> runAsync(execution, call, result), delay.toNanos(),
                            TimeUnit.NANOSECONDS);
                });
            });
        });
    }

    private CompletableFuture<Void> finish(Execution execution, Attempt attempt, Permit permit) {
        execution.onSuccess(attempt.headers());
        return permit.completeAsync(attempt.reportedUsage());
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
