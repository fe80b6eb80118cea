package io.llmlimiter.client.retry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    private static final RetryPolicy NO_JITTER = RetryPolicy.builder().fullJitter(false).build();

    private static Duration delay(RetryPolicy policy, int attempt, FailureKind kind) {
        return policy.delayFor(attempt, kind, Optional.empty(), () -> 0.5);
    }

    @Test
    void defaultsMatchTheSeedSettings() {
        RetryPolicy p = RetryPolicy.defaults();

        assertThat(p.maxRetries()).isEqualTo(3);
        assertThat(p.baseDelay()).isEqualTo(Duration.ofSeconds(2));
        assertThat(p.maxDelay()).isEqualTo(Duration.ofSeconds(60));
        assertThat(p.deadline()).isEqualTo(Duration.ofMinutes(5));
        assertThat(p.rateLimitMultiplier()).isEqualTo(2.0);
        assertThat(p.fullJitter()).isTrue();
    }

    @Test
    void backoffDoublesWithEachRetry() {
        assertThat(delay(NO_JITTER, 1, FailureKind.SERVER_ERROR)).isEqualTo(Duration.ofSeconds(2));
        assertThat(delay(NO_JITTER, 2, FailureKind.SERVER_ERROR)).isEqualTo(Duration.ofSeconds(4));
        assertThat(delay(NO_JITTER, 3, FailureKind.SERVER_ERROR)).isEqualTo(Duration.ofSeconds(8));
    }

    @Test
    void rateLimitedRetriesWaitTwiceAsLongAsOtherRetryableErrors() {
        for (int attempt = 1; attempt <= 3; attempt++) {
            assertThat(delay(NO_JITTER, attempt, FailureKind.RATE_LIMITED))
                    .isEqualTo(delay(NO_JITTER, attempt, FailureKind.TIMEOUT).multipliedBy(2));
        }
    }

    @Test
    void aOneSecondBaseGivesTheOriginalTwoFourEightSecondRateLimitSchedule() {
        RetryPolicy p = NO_JITTER.toBuilder().baseDelay(Duration.ofSeconds(1)).build();

        assertThat(delay(p, 1, FailureKind.RATE_LIMITED)).isEqualTo(Duration.ofSeconds(2));
        assertThat(delay(p, 2, FailureKind.RATE_LIMITED)).isEqualTo(Duration.ofSeconds(4));
        assertThat(delay(p, 3, FailureKind.RATE_LIMITED)).isEqualTo(Duration.ofSeconds(8));
    }

    @Test
    void fullJitterStaysBetweenZeroAndTheCappedDelay() {
        RetryPolicy p = RetryPolicy.defaults();
        Random random = new Random(42);
        for (int attempt = 1; attempt <= 10; attempt++) {
            Duration cap = delay(NO_JITTER, attempt, FailureKind.RATE_LIMITED);
            for (int i = 0; i < 200; i++) {
                Duration d = p.delayFor(attempt, FailureKind.RATE_LIMITED, Optional.empty(), random::nextDouble);
                assertThat(d).isBetween(Duration.ZERO, cap);
            }
        }
    }

    @Test
    void fullJitterScalesTheDelayByTheRandomDraw() {
        RetryPolicy p = RetryPolicy.defaults();

        assertThat(p.delayFor(3, FailureKind.SERVER_ERROR, Optional.empty(), () -> 0.0)).isEqualTo(Duration.ZERO);
        assertThat(p.delayFor(3, FailureKind.SERVER_ERROR, Optional.empty(), () -> 0.25))
                .isEqualTo(Duration.ofSeconds(2));
        assertThat(p.delayFor(3, FailureKind.SERVER_ERROR, Optional.empty(), () -> 7.0))
                .as("out-of-range draws are clamped").isEqualTo(Duration.ofSeconds(8));
    }

    @Test
    void providerHintIsAFloorForTheDelay() {
        Optional<Duration> hint = Optional.of(Duration.ofSeconds(30));

        assertThat(NO_JITTER.delayFor(1, FailureKind.RATE_LIMITED, hint, () -> 0.5)).isEqualTo(Duration.ofSeconds(30));
        assertThat(RetryPolicy.defaults().delayFor(1, FailureKind.RATE_LIMITED, hint, () -> 0.0))
                .as("jitter never undercuts the hint").isEqualTo(Duration.ofSeconds(30));
        assertThat(NO_JITTER.delayFor(5, FailureKind.SERVER_ERROR, Optional.of(Duration.ofSeconds(1)), () -> 0.5))
                .as("a short hint does not shorten the backoff").isEqualTo(Duration.ofSeconds(32));
    }

    @Test
    void providerHintMayExceedMaxDelay() {
        Duration hint = Duration.ofMinutes(2);

        assertThat(NO_JITTER.delayFor(1, FailureKind.RATE_LIMITED, Optional.of(hint), () -> 0.5)).isEqualTo(hint);
    }

    @Test
    void computedDelayIsCappedAtMaxDelayEvenForHugeAttemptNumbers() {
        assertThat(delay(NO_JITTER, 6, FailureKind.SERVER_ERROR)).isEqualTo(Duration.ofSeconds(60));
        assertThat(delay(NO_JITTER, 5_000, FailureKind.RATE_LIMITED)).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void settersRejectInvalidValuesNamingTheField() {
        RetryPolicy.Builder b = RetryPolicy.builder();

        assertThatThrownBy(() -> b.maxRetries(-1)).hasMessageContaining("maxRetries must be >= 0");
        assertThatThrownBy(() -> b.baseDelay(Duration.ofSeconds(-1))).hasMessageContaining("baseDelay");
        assertThatThrownBy(() -> b.maxDelay(null)).hasMessageContaining("maxDelay");
        assertThatThrownBy(() -> b.deadline(Duration.ZERO)).hasMessageContaining("deadline must be positive");
        assertThatThrownBy(() -> b.rateLimitMultiplier(0.5)).hasMessageContaining("rateLimitMultiplier");
        assertThatThrownBy(() -> b.rateLimitMultiplier(Double.NaN)).hasMessageContaining("rateLimitMultiplier");
    }

    @Test
    void attemptNumbersStartAtOne() {
        assertThatThrownBy(() -> delay(NO_JITTER, 0, FailureKind.SERVER_ERROR))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("attempt");
    }

    @Test
    void buildCopiesSoLaterBuilderChangesDoNotLeakIntoBuiltPolicies() {
        RetryPolicy.Builder b = RetryPolicy.builder().maxRetries(5);
        RetryPolicy built = b.build();

        b.maxRetries(9);

        assertThat(built.maxRetries()).isEqualTo(5);
        assertThat(b.build().maxRetries()).isEqualTo(9);
    }
}
