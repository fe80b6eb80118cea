package io.llmlimiter.client;

/**
 * One tenant's part of a target that shares fairly, as Redis holds it (see
 * {@link LimiterAdmin#tenants(Target)}). Totals count since the target was last idle for longer
 * than its longest window. This class is immutable and thread-safe.
 *
 * @param tenant the tenant's name ({@code other} for unnamed tenants past the cardinality cap)
 * @param weight its configured weight
 * @param weightShare its weight over the weights of all tenants listed
 * @param requests requests admitted
 * @param tokens tokens admitted (admission estimates)
 * @param tokenShare its tokens over the tokens of all tenants listed
 * @param waiting waiting tickets (one per process line that waits)
 */
public record TenantUsage(String tenant, double weight, double weightShare, long requests, long tokens, double tokenShare,
                          long waiting) {
}
