package io.llmlimiter.client.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.BudgetExceededException;
import io.llmlimiter.client.CallFailedException;
import io.llmlimiter.client.Durations;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.RetrySettings;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.retry.FailureKind;
import io.llmlimiter.client.retry.ProviderFailure;
import io.llmlimiter.client.retry.ProviderSignalParser;
import io.llmlimiter.client.retry.ProviderSignals;
import io.llmlimiter.client.retry.RetryPolicy;
import io.llmlimiter.client.retry.RetryState;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The per-call state of one {@code execute}: which attempt this is, how long is left, and what
 * to do after a failure. The policy comes from the target's live config. Not thread-safe: one
 * execution's steps run one after another.
 */
final class Execution {

    private final RedisLimiter limiter;
    private final Target target;
    private final Estimate estimate;
    private final RetryPolicy policy;

    // Mutable state
    private final RetryState state;

    Execution(RedisLimiter limiter, Target target, Estimate estimate) {
        this(limiter, target, estimate, limiter.retrySettings(target));
    }

    Execution(RedisLimiter limiter, Target target, Estimate estimate, RetrySettings settings) {
        this.limiter = limiter;
        this.target = target;
        this.estimate = estimate;
        this.policy = toPolicy(settings);
        this.state = new RetryState(policy, Instant.now());
    }

    Target target() {
        return target;
    }

    Estimate estimate() {
        return estimate;
    }

    int attempt() {
        return state.retries() + 1;
    }

    /** @return the time left before the overall deadline, the longest an acquire may wait */
    Duration remaining() {
        Duration left = state.remaining(Instant.now());
        return left.isNegative() || left.isZero() ? Duration.ofMillis(1) : left;
    }

    /**
     * Success: budgets the provider says run low are told to the fleet, and limits it states below
     * the configured ones become the fleet's effective limits.
     */
    void onSuccess(Map<String, ? extends Collection<String>> headers) {
        if (!headers.isEmpty()) {
            ProviderSignals signals = ProviderSignalParser.parse(headers, Instant.now());
            reportLowBudgets(signals);
            learnStatedLimits(signals);
        }
        if (state.retries() > 0) {
            CallExecutor.log().info("{} succeeded after {} {}", target, state.retries(),
                    state.retries() == 1 ? "retry" : "retries");
        }
    }

    /**
     * Classifies a failed attempt, tells the fleet what the provider said, and decides. A provider
     * 429 on a call the limiter admitted shrinks the target's effective limit for the whole fleet
     * ({@code learn.lua} ignores echoes: calls admitted before its last shrink).
     *
     * @param error what the call threw
     * @param permit the permit the attempt ran under
     * @return how long to wait before the next attempt
     * @throws CallFailedException when the failure is not retried or the retries are spent
     * @throws BudgetExceededException when a call made inside this one passed a dollar budget
     */
    Duration onFailure(Throwable error, Permit permit) {
        BudgetExceededException budget = budgetRefusal(error);
        if (budget != null) {
            // Not the provider's failure and not a rate limit: whatever the classifier says, no retry.
            CallExecutor.log().info("{} attempt {} refused by the budget {} of {}, not retried", target, attempt(),
                    budget.budget(), budget.target());
            throw budget;
        }
        ProviderFailure failure = limiter.statusExtractor().walkingCauses().describe(error);
        FailureKind kind = limiter.errorClassifier().classify(failure);
        ProviderSignals signals = ProviderSignalParser.parse(failure, Instant.now());
        reportLowBudgets(signals);
        learnStatedLimits(signals);
        state.recordFailure(failure, kind);
        int status = failure.statusCode().orElse(-1);
        Optional<Duration> hint = signals.suggestedWait();
        Duration delay = policy.delayFor(state.nextAttempt(), kind, hint, ThreadLocalRandom.current()::nextDouble);
        if (kind == FailureKind.RATE_LIMITED) {
            // One 429 pauses every worker of the target, so it does not become a storm.
            Duration pause = hint.orElseGet(() -> policy.delayFor(1, kind, Optional.empty(), () -> 1.0));
            limiter.metrics().providerRateLimited(target);
            limiter.cooldownAsync(target, pause);
            learnFrom429(permit);
        }
        String what = describe(kind, status);
        if (!kind.retryable()) {
            throw new CallFailedException(target, kind, status, attempt(), target + " " + what + ", not retried: "
                    + providerMessage(failure, error), error);
        }
        if (!state.canRetry(Instant.now(), delay)) {
            CallExecutor.log().warn("{} gave up after {} attempts: {}", target, attempt(), what);
            throw new CallFailedException(target, kind, status, attempt(), target + " gave up after " + attempt()
                    + " attempts, last " + what + ": " + providerMessage(failure, error), error);
        }
        state.markRetry();
        limiter.metrics().retry(target, kind.name().toLowerCase(java.util.Locale.ROOT));
        limiter.countRetry(target);
        CallExecutor.log().info("{} retry {}/{} after {}, waiting {} s", target, state.retries(), policy.maxRetries(),
                what, String.format(java.util.Locale.ROOT, "%.1f", delay.toMillis() / 1000.0));
        return delay;
    }

    /** The dollar-budget refusal in the error's cause chain, or null. */
    private static BudgetExceededException budgetRefusal(Throwable error) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = error; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof BudgetExceededException b) {
                return b;
            }
        }
        return null;
    }

    /** The permit knows when Redis admitted the call; a fallback permit (degraded mode) was never in Redis. */
    private void learnFrom429(Permit permit) {
        if (permit instanceof RedisPermit p) {
            Learning.rateLimited(limiter.scripts(), target, p.admittedMicros()).whenComplete((effective, e) -> {
                if (e != null) {
                    CallExecutor.log().debug("{} could not record the provider's 429: {}", target, e.toString());
                }
            });
        }
    }

    /** Limits the provider states below the configured ones, at most once a second or on change. */
    private void learnStatedLimits(ProviderSignals signals) {
        if (signals.budgets().isEmpty()) {
            return;
        }
        for (ProviderLimits.Stated s : limiter.providerLimits().toTell(signals, limiter.knownConfig(target),
                System.nanoTime())) {
            CallExecutor.log().debug("{} provider states {} {} per {}", target, s.amount(), s.resource().label(),
                    Durations.format(s.window()));
            Learning.providerLimit(limiter.scripts(), target, s.resource(), s.amount(), s.window())
                    .whenComplete((effective, e) -> {
                        if (e != null) {
                            CallExecutor.log().debug("{} could not record the provider's stated limit: {}", target,
                                    e.toString());
                        }
                    });
        }
    }

    private void reportLowBudgets(ProviderSignals signals) {
        for (ProviderSignals.Budget b : signals.budgets()) {
            if (b.remaining().isEmpty() || b.resetIn().isEmpty()) {
                continue;
            }
            long remaining = b.remaining().getAsLong();
            long limit = b.limit().orElse(0);
            // Only a provider nearly out matters: above that, the fleet's own windows bind first.
            if (remaining <= Math.max(1, limit / 10)) {
                limiter.signalAsync(target, Resource.valueOf(b.resource().name()), remaining, b.resetIn().get());
            }
        }
    }

    private static String describe(FailureKind kind, int status) {
        String k = kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
        return status < 0 ? k : status + " (" + k + ")";
    }

    private static String providerMessage(ProviderFailure failure, Throwable error) {
        Optional<String> body = failure.body();
        if (body.isPresent()) {
            try {
                JsonNode root = ConfigJson.MAPPER.readTree(body.get());
                JsonNode message = root.path("error").path("message");
                if (message.isTextual()) {
                    return message.asText();
                }
            } catch (Exception e) {
                // Not JSON: the raw body is the message.
            }
            return body.get();
        }
        return String.valueOf(error.getMessage());
    }

    private static RetryPolicy toPolicy(RetrySettings s) {
        return RetryPolicy.builder().maxRetries(s.maxRetries()).baseDelay(s.baseDelay()).maxDelay(s.maxDelay())
                .deadline(s.deadline()).build();
    }
}
