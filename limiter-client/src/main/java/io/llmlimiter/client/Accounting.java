package io.llmlimiter.client;

import java.util.Locale;

/**
 * How a target's windows count a finished call: the way its provider counts.
 *
 * <p>Some providers charge the rate limit with prompt + {@code max_tokens} when a request arrives
 * and never refund the unused part (OpenAI documents its estimate this way); others correct the
 * output tokens to the actual count when the call ends (Anthropic's output-tokens limit).
 * Refunding where the provider does not makes the fleet overshoot, so unknown providers keep the
 * charge. This enum is thread-safe.
 */
public enum Accounting {
    /** The admission charge stands; usage above the estimate is added. */
    KEEP,
    /** Every window still holding the request is corrected to the actual usage. */
    ACTUAL;

    /** @return the name used in configs: {@code keep} or {@code actual} */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param label {@code keep} or {@code actual}
     * @return the accounting
     */
    public static Accounting fromLabel(String label) {
        for (Accounting a : values()) {
            if (a.label().equals(label)) {
                return a;
            }
        }
        throw new IllegalArgumentException("accounting must be keep or actual, got '" + label + "'");
    }

    /**
     * The default for a provider family: {@link #ACTUAL} for Anthropic, whose output-token limit
     * is corrected to actual usage, {@link #KEEP} for everyone else.
     *
     * @param provider the provider name of a target
     * @return the accounting its provider family uses
     */
    public static Accounting defaultFor(String provider) {
        return "anthropic".equalsIgnoreCase(provider) ? ACTUAL : KEEP;
    }
}
