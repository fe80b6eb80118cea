package io.llmlimiter.client;

import java.util.Locale;

/**
 * A call's priority class. On a target that shares fairly (a config with
 * {@link FairShare fair_share}), waiting calls of a higher class go first; a lower class that
 * has not been served for its aging time goes first once, so every class keeps moving. Calls that
 * name no class are {@link #INTERACTIVE}: nothing is demoted unless it asks to be.
 */
public enum Priority {
    /** A person waits for the answer. */
    INTERACTIVE,
    /** A job waits for the answer. */
    BATCH,
    /** Nobody waits for the answer. */
    BACKGROUND;

    /** @return the label used in configs, REST and metrics: {@code interactive}, {@code batch}, {@code background} */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param label {@code interactive}, {@code batch} or {@code background}
     * @return the class
     * @throws IllegalArgumentException naming the known classes
     */
    public static Priority fromLabel(String label) {
        for (Priority p : values()) {
            if (p.label().equals(label)) {
                return p;
            }
        }
        throw new IllegalArgumentException("priority must be one of interactive, batch, background, got '" + label + "'");
    }
}
