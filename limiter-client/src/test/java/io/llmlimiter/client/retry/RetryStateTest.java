package io.llmlimiter.client.retry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RetryStateTest {

    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    private static final ProviderFailure THROTTLED = ProviderFailure.ofResponse(429, null, null, null);

    @Test
    void maxRetriesStopsRetries() {
        RetryState state = new RetryState(RetryPolicy.builder().maxRetries(2).build(), START);

        assertThat(state.canRetry(START, Duration.ofSeconds(1))).isTrue();
        state.markRetry();
        assertThat(state.nextAttempt()).isEqualTo(2);
        assertThat(state.canRetry(START, Duration.ofSeconds(1))).isTrue();
        state.markRetry();

        assertThat(state.retries()).isEqualTo(2);
        assertThat(state.canRetry(START, Duration.ofSeconds(1))).isFalse();
    }

    @Test
    void zeroMaxRetriesNeverRetries() {
        RetryState state = new RetryState(RetryPolicy.builder().maxRetries(0).build(), START);

        assertThat(state.canRetry(START, Duration.ZERO)).isFalse();
    }

    @Test
    void deadlineStopsRetriesThatWouldStartTooLate() {
        RetryState state = new RetryState(RetryPolicy.builder().deadline(Duration.ofSeconds(10)).build(), START);
        Instant now = START.plusSeconds(5);

        assertThat(state.canRetry(now, Duration.ofSeconds(5))).as("starting exactly at the deadline").isTrue();
        assertThat(state.canRetry(now, Duration.ofSeconds(6))).isFalse();
        assertThat(state.canRetry(START.plusSeconds(11), Duration.ZERO)).isFalse();
    }

    @Test
    void aProviderHintLongerThanTheRemainingDeadlineStopsRetries() {
        RetryState state = new RetryState(RetryPolicy.defaults(), START);
        Duration hint = Duration.ofMinutes(10);
        Duration delay = RetryPolicy.defaults().delayFor(1, FailureKind.RATE_LIMITED, Optional.of(hint),
                () -> 0.5);

        assertThat(state.canRetry(START, delay)).isFalse();
        assertThat(state.remaining(START)).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void nonRetryableLastFailureStopsRetries() {
        RetryState state = new RetryState(RetryPolicy.defaults(), START);

        state.recordFailure(THROTTLED, FailureKind.QUOTA_EXHAUSTED);

        assertThat(state.canRetry(START, Duration.ZERO)).isFalse();
        assertThat(state.lastFailure()).contains(THROTTLED);
        assertThat(state.lastKind()).contains(FailureKind.QUOTA_EXHAUSTED);
    }

    @Test
    void remainingTimeNeverGoesNegative() {
        RetryState state = new RetryState(RetryPolicy.defaults(), START);

        assertThat(state.deadlineAt()).isEqualTo(START.plus(Duration.ofMinutes(5)));
        assertThat(state.remaining(START.plus(Duration.ofHours(1)))).isEqualTo(Duration.ZERO);
        assertThat(state.startedAt()).isEqualTo(START);
        assertThat(state.lastFailure()).isEmpty();
    }
}
