package io.llmlimiter.client;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A dollar budget of a target: at most {@code microUsd} micro-dollars of estimated (then actual)
 * cost in any sliding window ({@code usd=50/1d}), or per UTC calendar day or month
 * ({@code usd=20/day}, {@code usd=1000/month}, reset at the period's start). Checked and reserved
 * at admission, atomically with the target's limits; corrected to the actual cost at completion.
 * This class is immutable and thread-safe.
 *
 * @param microUsd the budget in micro-dollars, 1 to {@value #MAX_MICRO_USD}
 * @param window the sliding window, or null for a calendar budget
 * @param period the calendar period, or null for a sliding budget
 */
public record Budget(long microUsd, Duration window, Period period) {

    /** The largest budget, in micro-dollars (one billion dollars). */
    public static final long MAX_MICRO_USD = 1_000_000_000_000_000L;

    /** A UTC calendar period. */
    public enum Period {
        /** From 00:00 UTC to the next 00:00 UTC. */
        DAY,
        /** From the first of the month, 00:00 UTC, to the first of the next. */
        MONTH;

        /** @return {@code day} or {@code month} */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Validates the budget, naming the bad field. */
    public Budget {
        if (microUsd <= 0 || microUsd > MAX_MICRO_USD) {
            throw new IllegalArgumentException("usd must be more than 0 and at most 1000000000, got "
                    + BigDecimal.valueOf(microUsd, 6).stripTrailingZeros().toPlainString());
        }
        if ((window == null) == (period == null)) {
            throw new IllegalArgumentException("a budget has either a sliding window or a calendar period");
        }
        if (window != null && (window.toMillis() < 1000 || window.compareTo(Limit.MAX_WINDOW) > 0)) {
            throw new IllegalArgumentException("usd window must be between 1s and 31d, got " + Durations.format(window));
        }
    }

    /**
     * Parses {@code usd=50/1d} (sliding), {@code usd=20/day} or {@code usd=1000/month} (calendar).
     * Amounts are dollars with at most six decimals ({@code usd=0.25/1h}).
     *
     * @param text the budget as text
     * @return the budget
     * @throws IllegalArgumentException naming what is wrong
     */
    public static Budget parse(String text) {
        String t = text == null ? "" : text.trim();
        int eq = t.indexOf('=');
        int slash = t.indexOf('/', Math.max(eq, 0));
        if (eq <= 0 || slash < 0 || !t.substring(0, eq).trim().equals("usd")) {
            throw new IllegalArgumentException("budget must look like usd=amount/window or usd=amount/day|month, "
                    + "e.g. usd=50/1d, got '" + text + "'");
        }
        long micros = microUsd("usd", t.substring(eq + 1, slash).trim());
        String per = t.substring(slash + 1).trim();
        if (per.equals("day") || per.equals("month")) {
            return new Budget(micros, null, Period.valueOf(per.toUpperCase(Locale.ROOT)));
        }
        return new Budget(micros, Durations.parse("usd window", per), null);
    }

    /**
     * @param text budgets separated by commas
     * @return the budgets, in order
     */
    public static List<Budget> parseAll(String text) {
        List<Budget> out = new ArrayList<>();
        if (text == null || text.isBlank()) {
            return out;
        }
        for (String part : text.split(",")) {
            out.add(parse(part));
        }
        return out;
    }

    /**
     * Dollars as text to exact micro-dollars.
     *
     * @param field the field named in the error
     * @param dollars a decimal number of dollars, at most six decimals
     * @return micro-dollars
     * @throws IllegalArgumentException naming the field when it is not a number, negative or finer
     *     than a micro-dollar
     */
    public static long microUsd(String field, String dollars) {
        BigDecimal d;
        try {
            d = new BigDecimal(dollars.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " must be a number of dollars, got '" + dollars + "'");
        }
        if (d.signum() < 0) {
            throw new IllegalArgumentException(field + " must not be negative, got " + dollars);
        }
        try {
            return d.movePointRight(6).setScale(0, RoundingMode.UNNECESSARY).longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(field + " must have at most six decimals and be at most "
                    + "1000000000, got " + dollars);
        }
    }

    /** @return the budget in dollars */
    public BigDecimal usd() {
        return BigDecimal.valueOf(microUsd, 6).stripTrailingZeros();
    }

    /** @return whether the budget resets at a UTC day or month start */
    public boolean calendar() {
        return period != null;
    }

    /** @return the form the scripts read: {@code s:<micros>:<window_ms>}, {@code d:<micros>} or {@code m:<micros>} */
    public String scriptSpec() {
        if (period == null) {
            return "s:" + microUsd + ":" + window.toMillis();
        }
        return (period == Period.DAY ? "d:" : "m:") + microUsd;
    }

    /**
     * @param scriptSpec the scripts' name of a budget, {@code usd:<micros>:<window_ms>|day|month}
     * @return its compact form, e.g. {@code usd=50/1d}, or the text as given when it is not one
     */
    public static String fromScriptName(String scriptSpec) {
        String[] p = scriptSpec.split(":");
        if (p.length != 3 || !p[0].equals("usd")) {
            return scriptSpec;
        }
        try {
            long micros = Long.parseLong(p[1]);
            String per = p[2].equals("day") || p[2].equals("month") ? p[2]
                    : Durations.format(Duration.ofMillis(Long.parseLong(p[2])));
            return "usd=" + BigDecimal.valueOf(micros, 6).stripTrailingZeros().toPlainString() + "/" + per;
        } catch (NumberFormatException e) {
            return scriptSpec;
        }
    }

    /** @return the compact form, e.g. {@code usd=50/1d} or {@code usd=1000/month} */
    @Override
    public String toString() {
        return "usd=" + usd().toPlainString() + "/" + (period != null ? period.label() : Durations.format(window));
    }

    static Budget requireNonNull(Budget b) {
        return Objects.requireNonNull(b, "budget must not be null");
    }
}
