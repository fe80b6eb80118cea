package io.llmlimiter.client.internal;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns a target's stats hash into counters. Most fields are plain numbers; the dollar fields
 * that usd.lua keeps per UTC period ({@code "<period id>:<micros>"}) become the current day's and
 * month's figures (0 once the period has passed), and the budgets' sliding rings, which are state
 * rather than counters, are left out. This class is thread-safe.
 */
public final class Counters {

    /** Actual spend, all time, in micro-dollars. */
    public static final String COST = "cost_usd_micros";
    /** Actual spend of the current UTC day, in micro-dollars. */
    public static final String COST_TODAY = "cost_today_usd_micros";
    /** Actual spend of the current UTC month, in micro-dollars. */
    public static final String COST_MONTH = "cost_month_usd_micros";
    /** Reserved against a daily budget today (estimates of calls in flight, actual cost of the rest). */
    public static final String BUDGET_DAY = "budget_day_reserved_usd_micros";
    /** Reserved against a monthly budget this month. */
    public static final String BUDGET_MONTH = "budget_month_reserved_usd_micros";

    private Counters() {
    }

    /**
     * @param raw the stats hash
     * @param nowMillis the time the periods are taken at (epoch ms)
     * @return the counters
     */
    public static Map<String, Long> parse(Map<String, String> raw, long nowMillis) {
        long day = day(nowMillis);
        long month = month(nowMillis);
        Map<String, Long> out = new TreeMap<>();
        raw.forEach((k, v) -> {
            switch (k) {
                case "cost_day" -> out.put(COST_TODAY, inPeriod(v, day));
                case "cost_month" -> out.put(COST_MONTH, inPeriod(v, month));
                case "ud" -> out.put(BUDGET_DAY, inPeriod(v, day));
                case "um" -> out.put(BUDGET_MONTH, inPeriod(v, month));
                default -> {
                    if (!k.startsWith("us:")) {
                        try {
                            out.put(k, Long.parseLong(v));
                        } catch (NumberFormatException e) {
                            // Not a counter: state some script keeps beside them.
                        }
                    }
                }
            }
        });
        return out;
    }

    /** @return the UTC day id usd.lua keys a day's spend by */
    static long day(long nowMillis) {
        return Math.floorDiv(nowMillis, 86_400_000L);
    }

    /** @return the UTC month id usd.lua keys a month's spend by */
    static long month(long nowMillis) {
        LocalDate date = LocalDate.ofInstant(Instant.ofEpochMilli(nowMillis), ZoneOffset.UTC);
        return date.getYear() * 12L + date.getMonthValue() - 1;
    }

    /** @return the micros of a {@code "<period id>:<micros>"} value, 0 when it is of another period */
    static long inPeriod(String v, long period) {
        int colon = v.indexOf(':');
        try {
            return colon > 0 && Long.parseLong(v.substring(0, colon)) == period ? Long.parseLong(v.substring(colon + 1)) : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
