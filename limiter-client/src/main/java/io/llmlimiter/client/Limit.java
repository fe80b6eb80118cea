package io.llmlimiter.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One limit of a target: at most {@code amount} of a {@code resource} in any sliding window of
 * length {@code window}, e.g. 500 requests per 60 s. This class is immutable and thread-safe.
 *
 * @param resource what is counted
 * @param amount the most allowed in any window, 1 to {@value #MAX_AMOUNT}
 * @param window the window length, 1 ms to 31 days
 */
public record Limit(Resource resource, long amount, Duration window) {

    /** The largest amount a limit may have. */
    public static final long MAX_AMOUNT = 1_000_000_000_000L;
    /** The longest window a limit may have. */
    public static final Duration MAX_WINDOW = Duration.ofDays(31);

    /** Validates the limit, naming the bad field. */
    public Limit {
        Objects.requireNonNull(resource, "resource must not be null");
        Objects.requireNonNull(window, "window must not be null");
        if (amount <= 0 || amount > MAX_AMOUNT) {
            throw new IllegalArgumentException("amount must be between 1 and " + MAX_AMOUNT + ", got " + amount);
        }
        if (window.toMillis() < 1 || window.compareTo(MAX_WINDOW) > 0) {
            throw new IllegalArgumentException("window must be between 1ms and 31d, got " + window);
        }
    }

    /**
     * Parses one limit in the compact form {@code requests=500/60s}.
     *
     * @param text the limit as text
     * @return the limit
     * @throws IllegalArgumentException naming what is wrong
     */
    public static Limit parse(String text) {
        String t = text == null ? "" : text.trim();
        int eq = t.indexOf('=');
        int slash = t.indexOf('/', Math.max(eq, 0));
        if (eq <= 0 || slash < 0) {
            throw new IllegalArgumentException("limit must look like resource=amount/window, e.g. requests=500/60s, got '"
                    + text + "'");
        }
        Resource resource = Resource.fromLabel(t.substring(0, eq).trim());
        long amount;
        try {
            amount = Long.parseLong(t.substring(eq + 1, slash).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("amount must be a whole number, got '" + t.substring(eq + 1, slash) + "'");
        }
        return new Limit(resource, amount, Durations.parse("window", t.substring(slash + 1).trim()));
    }

    /**
     * Parses a comma-separated list, e.g. {@code requests=500/60s,tokens=30000/60s,requests=10/1s}.
     *
     * @param text the limits as text
     * @return the limits, in order
     */
    public static List<Limit> parseAll(String text) {
        List<Limit> out = new ArrayList<>();
        if (text == null || text.isBlank()) {
            return out;
        }
        for (String part : text.split(",")) {
            out.add(parse(part));
        }
        return out;
    }

    /**
     * @param limits limits
     * @return the compact text form, e.g. {@code requests=500/60s,tokens=30000/60s}
     */
    public static String formatAll(List<Limit> limits) {
        return String.join(",", limits.stream().map(Limit::toString).toList());
    }

    /** @return the compact form, e.g. {@code requests=500/60s} */
    @Override
    public String toString() {
        return resource.label() + "=" + amount + "/" + Durations.format(window);
    }
}
