package io.llmlimiter.client;

/**
 * What a call is expected to use, charged against the target's windows when it is admitted.
 * This class is immutable and thread-safe.
 *
 * <p>An estimate given only as a total ({@link #tokens(long)}) counts in full against
 * {@code input_tokens} and {@code output_tokens} limits as well, since its split is unknown;
 * give the split with {@link #of(long, long)} when those limits matter.
 *
 * @param tokens charged against {@code tokens} limits
 * @param inputTokens charged against {@code input_tokens} limits
 * @param outputTokens charged against {@code output_tokens} limits
 */
public record Estimate(long tokens, long inputTokens, long outputTokens) {

    private static final long MAX = Limit.MAX_AMOUNT;

    /** Validates the estimate. */
    public Estimate {
        check("tokens", tokens);
        check("inputTokens", inputTokens);
        check("outputTokens", outputTokens);
    }

    /** @return an estimate of no tokens: the call counts only against request limits */
    public static Estimate requestOnly() {
        return new Estimate(0, 0, 0);
    }

    /**
     * @param total the expected input plus output tokens
     * @return an estimate of {@code total} tokens with unknown split
     */
    public static Estimate tokens(long total) {
        return new Estimate(total, total, total);
    }

    /**
     * @param input the prompt tokens
     * @param output the most output tokens the call may produce (its {@code max_tokens})
     * @return an estimate with a known split
     */
    public static Estimate of(long input, long output) {
        return new Estimate(input + output, input, output);
    }

    private static void check(String field, long value) {
        if (value < 0 || value > MAX) {
            throw new IllegalArgumentException(field + " must be between 0 and " + MAX + ", got " + value);
        }
    }
}
