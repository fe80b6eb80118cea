package io.llmlimiter.client.retry;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Progress of one logical call through its retries: when it started, how many retries were made,
 * and the last failure.
 *
 * <p>Mutable and <strong>not thread-safe</strong>: create one per call (with {@link
 * #RetryState(RetryPolicy, Instant)}) and confine it to the thread driving that call. Typical loop:
 *
 * <pre>{@code
 * RetryState state = new RetryState(policy, clock.instant());
 * while (true) {
 *   try { return call(); }
 *   catch (Exception e) {
 *     ProviderFailure failure = extractor.describe(e);
 *     FailureKind kind = classifier.classify(failure);
 *     state.recordFailure(failure, kind);
 *     Duration delay = policy.delayFor(state.nextAttempt(), kind, hint, random);
 *     if (!state.canRetry(clock.instant(), delay)) throw e;
 *     state.markRetry();
 *     sleep(delay);
 *   }
 * }
 * }</pre>
 */
public final class RetryState {

    private final RetryPolicy policy;
    private final Instant startedAt;
    private int retries;
    private ProviderFailure lastFailure;
    private FailureKind lastKind;

    /**
     * Starts tracking a call.
     *
     * @param policy the policy whose limits apply
     * @param startedAt when the first attempt began; the deadline is measured from here
     */
    public RetryState(RetryPolicy policy, Instant startedAt) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.startedAt = Objects.requireNonNull(startedAt, "startedAt");
    }

    /**
     * Records the failure of the latest attempt.
     *
     * @param failure what went wrong
     * @param kind its classification
     */
    public void recordFailure(ProviderFailure failure, FailureKind kind) {
        this.lastFailure = Objects.requireNonNull(failure, "failure");
        this.lastKind = Objects.requireNonNull(kind, "kind");
    }

    /**
     * Whether another attempt is allowed after waiting {@code nextDelay}: the last recorded failure
     * (if any) must be retryable, fewer than {@link RetryPolicy#maxRetries()} retries may have been
     * made, and the retry must start no later than the deadline.
     *
     * @param now the current time
     * @param nextDelay the wait before the retry, typically from {@link RetryPolicy#delayFor}
     * @return {@code true} if the caller may sleep {@code nextDelay} and try again
     */
    public boolean canRetry(Instant now, Duration nextDelay) {
        Objects.requireNonNull(now, "now");
        Objects.requireNonNull(nextDelay, "nextDelay");
        if (lastKind != null && !lastKind.retryable()) {
            return false;
        }
        if (retries >= policy.maxRetries()) {
            return false;
        }
        // A provider that asks us to wait past the deadline makes the retry pointless.
        return !now.plus(nextDelay).isAfter(deadlineAt());
    }

    /** Counts a retry; call just before sleeping and re-sending. */
    public void markRetry() {
        retries++;
    }

    /**
     * The 1-based number the next retry will have, for {@link RetryPolicy#delayFor}.
     *
     * @return retries made so far plus one
     */
    public int nextAttempt() {
        return retries + 1;
    }

    /**
     * Retries made so far.
     *
     * @return the retry count
     */
    public int retries() {
        return retries;
    }

    /**
     * When the first attempt started.
     *
     * @return the start instant
     */
    public Instant startedAt() {
        return startedAt;
    }

    /**
     * The instant after which no retry may start.
     *
     * @return start plus the policy deadline
     */
    public Instant deadlineAt() {
        return startedAt.plus(policy.deadline());
    }

    /**
     * Time left until the deadline, never negative; callers may cap a long provider hint with it.
     *
     * @param now the current time
     * @return the remaining budget
     */
    public Duration remaining(Instant now) {
        Duration left = Duration.between(now, deadlineAt());
        return left.isNegative() ? Duration.ZERO : left;
    }

    /**
     * The most recently recorded failure.
     *
     * @return the failure, or empty before the first failure
     */
    public Optional<ProviderFailure> lastFailure() {
        return Optional.ofNullable(lastFailure);
    }

    /**
     * Classification of the most recently recorded failure.
     *
     * @return the kind, or empty before the first failure
     */
    public Optional<FailureKind> lastKind() {
        return Optional.ofNullable(lastKind);
    }
}
