package io.llmlimiter.client;

/**
 * The estimate exceeds a limit's whole amount: the request can never be admitted, so it fails
 * at once instead of waiting forever. This class is immutable and thread-safe.
 */
public final class EstimateTooLargeException extends LimiterException {

    private final String limit;

    /**
     * @param target the target
     * @param limit the limit that can never hold the estimate, in compact form
     * @param estimate the estimate
     */
    public EstimateTooLargeException(Target target, String limit, Estimate estimate) {
        super(target, target + ": estimate " + estimate + " can never fit the limit " + limit, null, false);
        this.limit = limit;
    }

    /** @return the limit, in compact form (e.g. {@code tokens=30000/60s}) */
    public String limit() {
        return limit;
    }
}
