package io.llmlimiter.client;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Optional;

/**
 * The call's estimated cost would pass one of the target's dollar budgets: it fails at once.
 * It is never waited for nor retried as a rate limit (a sliding budget frees only as past spend
 * ages out, a calendar budget at the next UTC day or month). This class is immutable and
 * thread-safe.
 */
public final class BudgetExceededException extends LimiterException {

    private final String budget;
    private final long leftMicroUsd;
    private final long costMicroUsd;
    private final Instant freesAt;

    /**
     * @param target the target
     * @param budget the budget, in compact form ({@code usd=50/1d}, {@code usd=1000/month})
     * @param leftMicroUsd what the budget has left, in micro-dollars
     * @param costMicroUsd the call's estimated cost, in micro-dollars
     * @param freesAt when enough of it frees (sliding) or it resets (calendar); null when the cost is
     *     larger than the whole budget
     */
    public BudgetExceededException(Target target, String budget, long leftMicroUsd, long costMicroUsd, Instant freesAt) {
        super(target, target + ": estimated cost $" + dollars(costMicroUsd) + " would pass the budget " + budget
                + " ($" + dollars(leftMicroUsd) + " left" + (freesAt == null ? ", the cost is larger than the whole budget"
                : ", frees at " + freesAt) + ")", null, false);
        this.budget = budget;
        this.leftMicroUsd = leftMicroUsd;
        this.costMicroUsd = costMicroUsd;
        this.freesAt = freesAt;
    }

    private static String dollars(long micros) {
        return BigDecimal.valueOf(micros, 6).stripTrailingZeros().toPlainString();
    }

    /** @return the budget that refused, in compact form */
    public String budget() {
        return budget;
    }

    /** @return what the budget has left, in dollars */
    public BigDecimal left() {
        return BigDecimal.valueOf(leftMicroUsd, 6).stripTrailingZeros();
    }

    /** @return what the budget has left, in micro-dollars */
    public long leftMicroUsd() {
        return leftMicroUsd;
    }

    /** @return the call's estimated cost, in micro-dollars */
    public long costMicroUsd() {
        return costMicroUsd;
    }

    /** @return when the budget frees enough (sliding) or resets (calendar); empty when it never can */
    public Optional<Instant> freesAt() {
        return Optional.ofNullable(freesAt);
    }
}
