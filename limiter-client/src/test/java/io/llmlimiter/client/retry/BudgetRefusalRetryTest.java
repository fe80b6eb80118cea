package io.llmlimiter.client.retry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.llmlimiter.client.BudgetExceededException;
import io.llmlimiter.client.Target;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A dollar budget's refusal is not a provider failure that a wait can fix: the default classifier
 * calls it exhausted quota, and the retry loop of {@link RetryState}'s documentation makes one
 * attempt and no backoff on it.
 */
class BudgetRefusalRetryTest {

    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    private static final Target TARGET = new Target("openai", "gpt-4o");

    private static BudgetExceededException refusal() {
        return new BudgetExceededException(TARGET, "usd=50/day", 1_000, 45_000, Instant.parse("2026-01-02T00:00:00Z"));
    }

    static Stream<Throwable> refusals() {
        BudgetExceededException e = refusal();
        return Stream.of(e, new CompletionException(e), new ExecutionException(e),
                new RuntimeException("the SDK wrapped it", new CompletionException(e)));
    }

    @ParameterizedTest
    @MethodSource("refusals")
    void theDefaultClassifierCallsABudgetRefusalExhaustedQuotaWhereverItIsInTheChain(Throwable thrown) {
        ProviderFailure failure = StatusExtractor.defaults().describe(thrown);

        FailureKind kind = ErrorClassifier.defaults().classify(failure);

        assertThat(kind).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(kind.retryable()).isFalse();
        // A fallback that would retry anything is not asked: the defaults have an answer.
        assertThat(ErrorClassifier.defaults().orElse(f -> FailureKind.SERVER_ERROR).classify(failure))
                .isEqualTo(FailureKind.QUOTA_EXHAUSTED);
    }

    @Test
    void aBudgetRefusalLeavesNoRetryEvenWithRetriesAndTimeLeftAndNoDelay() {
        RetryState state = new RetryState(RetryPolicy.builder().maxRetries(10).deadline(Duration.ofDays(1)).build(),
                START);
        ProviderFailure failure = StatusExtractor.defaults().describe(refusal());

        state.recordFailure(failure, ErrorClassifier.defaults().classify(failure));

        assertThat(state.canRetry(START, Duration.ZERO)).isFalse();
        assertThat(state.retries()).isZero();
    }

    @Test
    void theDocumentedRetryLoopMakesOneAttemptAndNeverSleepsOnABudgetRefusal() {
        RetryPolicy policy = RetryPolicy.builder().maxRetries(5).baseDelay(Duration.ofSeconds(1))
                .deadline(Duration.ofDays(1)).build();
        AtomicInteger attempts = new AtomicInteger();
        List<Duration> sleeps = new ArrayList<>();
        BudgetExceededException refusal = refusal();

        assertThatThrownBy(() -> seedLoop(policy, () -> {
            attempts.incrementAndGet();
            throw refusal;
        }, sleeps)).isSameAs(refusal);

        assertThat(attempts).hasValue(1);
        assertThat(sleeps).isEmpty();
    }

    @Test
    void theDocumentedRetryLoopStillRetriesARateLimitSoTheLoopItselfIsLive() {
        RetryPolicy policy = RetryPolicy.builder().maxRetries(2).deadline(Duration.ofDays(1)).build();
        AtomicInteger attempts = new AtomicInteger();
        List<Duration> sleeps = new ArrayList<>();

        String result = seedLoop(policy, () -> {
            if (attempts.incrementAndGet() < 3) {
                throw new HttpStatusException(429);
            }
            return "ok";
        }, sleeps);

        assertThat(result).isEqualTo("ok");
        assertThat(attempts).hasValue(3);
        assertThat(sleeps).hasSize(2);
    }

    /** The loop in {@link RetryState}'s documentation, with a recorded sleep and a fixed clock. */
    private static <T> T seedLoop(RetryPolicy policy, Supplier<T> call, List<Duration> sleeps) {
        StatusExtractor extractor = StatusExtractor.defaults();
        ErrorClassifier classifier = ErrorClassifier.defaults();
        RetryState state = new RetryState(policy, START);
        while (true) {
            try {
                return call.get();
            } catch (RuntimeException e) {
                ProviderFailure failure = extractor.describe(e);
                FailureKind kind = classifier.classify(failure);
                state.recordFailure(failure, kind);
                Duration delay = policy.delayFor(state.nextAttempt(), kind, Optional.empty(), () -> 0.5);
                if (!state.canRetry(START, delay)) {
                    throw e;
                }
                state.markRetry();
                sleeps.add(delay);
            }
        }
    }
}
