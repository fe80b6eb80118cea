package io.llmlimiter.client.retry;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What a provider's response headers said about its rate limits: an explicit wait ({@code
 * Retry-After}) and the state of each budget it reported.
 *
 * <p>Immutable and thread-safe. Produced by {@link ProviderSignalParser}.
 */
public final class ProviderSignals {

    private static final ProviderSignals EMPTY = new ProviderSignals(Optional.empty(), List.of());

    private final Optional<Duration> retryAfter;
    private final List<Budget> budgets;

    private ProviderSignals(Optional<Duration> retryAfter, List<Budget> budgets) {
        this.retryAfter = Objects.requireNonNull(retryAfter, "retryAfter");
        this.budgets = List.copyOf(budgets);
    }

    /**
     * Signals with the given contents.
     *
     * @param retryAfter the provider's requested wait, if any
     * @param budgets the reported budgets (copied)
     * @return the signals
     */
    public static ProviderSignals of(Optional<Duration> retryAfter, List<Budget> budgets) {
        return retryAfter.isEmpty() && budgets.isEmpty() ? EMPTY : new ProviderSignals(retryAfter, budgets);
    }

    /**
     * Signals carrying nothing.
     *
     * @return the shared empty instance
     */
    public static ProviderSignals empty() {
        return EMPTY;
    }

    /**
     * How long the provider asked callers to wait ({@code retry-after-ms} or {@code Retry-After}).
     *
     * @return the wait, or empty if not given or malformed
     */
    public Optional<Duration> retryAfter() {
        return retryAfter;
    }

    /**
     * The budgets the provider reported, OpenAI ones first, then Anthropic ones.
     *
     * @return an unmodifiable list, possibly empty
     */
    public List<Budget> budgets() {
        return budgets;
    }

    /**
     * The first reported budget for a resource.
     *
     * @param resource the resource
     * @return its budget, or empty if not reported
     */
    public Optional<Budget> budget(SignalResource resource) {
        return budgets.stream().filter(b -> b.resource() == resource).findFirst();
    }

    /**
     * Whether nothing usable was found.
     *
     * @return {@code true} if there is neither a retry-after nor any budget
     */
    public boolean isEmpty() {
        return retryAfter.isEmpty() && budgets.isEmpty();
    }

    /**
     * A wait suitable as the provider hint of {@link RetryPolicy#delayFor}: the explicit
     * retry-after if present, else the longest reset among budgets whose remaining count is 0.
     *
     * @return the suggested wait, or empty when the headers do not call for one
     */
    public Optional<Duration> suggestedWait() {
        if (retryAfter.isPresent()) {
            return retryAfter;
        }
        return budgets.stream()
                .filter(b -> b.remaining().isPresent() && b.remaining().getAsLong() == 0)
                .flatMap(b -> b.resetIn().stream())
                .max(Comparator.naturalOrder());
    }

    /**
     * Value equality.
     *
     * @param o other object
     * @return whether both carry the same signals
     */
    @Override
    public boolean equals(Object o) {
        return this == o || (o instanceof ProviderSignals
                && retryAfter.equals(((ProviderSignals) o).retryAfter)
                && budgets.equals(((ProviderSignals) o).budgets));
    }

    /**
     * Hash code consistent with {@link #equals(Object)}.
     *
     * @return the hash code
     */
    @Override
    public int hashCode() {
        return Objects.hash(retryAfter, budgets);
    }

    /**
     * Describes the signals.
     *
     * @return a readable summary
     */
    @Override
    public String toString() {
        return "ProviderSignals{retryAfter=" + retryAfter + ", budgets=" + budgets + '}';
    }

    /**
     * One provider-side budget; any field the provider omitted (or sent malformed) is empty, but at
     * least one field is present.
     *
     * <p>Immutable and thread-safe.
     *
     * @param resource what the budget counts
     * @param limit the budget size per window
     * @param remaining what is left in the current window
     * @param resetIn time until the budget is fully replenished
     */
    public record Budget(SignalResource resource, OptionalLong limit, OptionalLong remaining,
                         Optional<Duration> resetIn) {

        /**
         * Validates the components.
         *
         * @param resource what the budget counts
         * @param limit the budget size per window
         * @param remaining what is left in the current window
         * @param resetIn time until the budget is fully replenished
         */
        public Budget {
            Objects.requireNonNull(resource, "resource");
            Objects.requireNonNull(limit, "limit");
            Objects.requireNonNull(remaining, "remaining");
            Objects.requireNonNull(resetIn, "resetIn");
        }
    }
}
