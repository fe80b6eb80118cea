package io.llmlimiter.client;

/**
 * One tenant's part of a target, as Redis holds it (see {@link LimiterAdmin#tenants(Target)}).
 * Admissions and waiting callers are kept on a target that shares fairly; their totals count since
 * the target was last idle for longer than its longest window. Spend is kept on every target, per
 * UTC day and month; past the target's cardinality cap (its fair share's {@code max_tenants}, else
 * 100 tenants a month) later tenants' spend counts as {@code other}. This class is immutable and
 * thread-safe.
 *
 * @param tenant the tenant's name ({@code other} for tenants past the cardinality cap)
 * @param weight its configured weight
 * @param weightShare its weight over the weights of all tenants listed
 * @param requests requests admitted
 * @param tokens tokens admitted (admission estimates)
 * @param tokenShare its tokens over the tokens of all tenants listed
 * @param waiting waiting tickets (one per process line that waits)
 * @param costTodayMicros the actual cost of its calls completed this UTC day, in micro-dollars
 * @param costMonthMicros the actual cost of its calls completed this UTC month, in micro-dollars
 */
public record TenantUsage(String tenant, double weight, double weightShare, long requests, long tokens, double tokenShare,
                          long waiting, long costTodayMicros, long costMonthMicros) {

    /** A tenant with no spend recorded. */
    public TenantUsage(String tenant, double weight, double weightShare, long requests, long tokens, double tokenShare,
                       long waiting) {
        this(tenant, weight, weightShare, requests, tokens, tokenShare, waiting, 0, 0);
    }
}
