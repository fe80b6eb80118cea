package io.llmlimiter.server;

import java.util.List;

/**
 * One target's recent history: a fixed number of samples (time plus one value per series), the
 * oldest overwritten first, so its memory never grows: {@code capacity * (8 + 4 * series)} bytes.
 * A value may be {@link Float#NaN} (unknown, e.g. no limit of that kind). Thread-safe.
 */
final class HistoryRing {

    /** The series, in the order {@link #add} takes their values. */
    enum Series {
        /** Admissions per second. */
        ADMITTED_PER_S("admitted_per_s"),
        /** Tokens estimated at admission (the admission charge) per second, counted as calls complete. */
        ESTIMATED_TOKENS_PER_S("estimated_tokens_per_s"),
        /** Tokens the provider reported (input + output) per second. */
        ACTUAL_TOKENS_PER_S("actual_tokens_per_s"),
        /** The effective request limit, as an average rate (amount / window), per second. */
        REQUEST_LIMIT_PER_S("request_limit_per_s"),
        /** The configured request limit, per second. */
        REQUEST_LIMIT_CONFIGURED_PER_S("request_limit_configured_per_s"),
        /** The effective token limit, as an average rate, per second. */
        TOKEN_LIMIT_PER_S("token_limit_per_s"),
        /** The configured token limit, per second. */
        TOKEN_LIMIT_CONFIGURED_PER_S("token_limit_configured_per_s"),
        /** Callers waiting in line. */
        WAITING("waiting"),
        /** Calls holding a lease. */
        IN_FLIGHT("in_flight"),
        /** The concurrency cap (NaN when none). */
        MAX_CONCURRENT("max_concurrent"),
        /** Provider 429s per minute. */
        PROVIDER_429_PER_MIN("provider_429_per_min"),
        /** Refusals per minute, every reason together. */
        REFUSED_PER_MIN("refused_per_min"),
        /** Median admission wait the clients reported, ms. */
        WAIT_P50_MS("wait_p50_ms"),
        /** 99th percentile admission wait the clients reported, ms. */
        WAIT_P99_MS("wait_p99_ms");

        final String json;

        Series(String json) {
            this.json = json;
        }
    }

    /** Refusal reasons, as the stats hash names them ({@code refused_<reason>}). */
    static final List<String> REFUSALS = List.of("window", "concurrency", "cooldown", "queued", "provider");

    private final long[] times;
    private final float[][] values;
    private final long[][] refusals;
    private int next;
    private int size;

    /** @param capacity how many samples are kept */
    HistoryRing(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
        }
        times = new long[capacity];
        values = new float[Series.values().length][capacity];
        refusals = new long[REFUSALS.size()][capacity];
    }

    /**
     * Adds a sample, overwriting the oldest when full.
     *
     * @param epochMillis its time
     * @param sample one value per {@link Series}, in their order
     * @param refusedTotals the {@code refused_<reason>} counters at that time, in {@link #REFUSALS} order
     */
    synchronized void add(long epochMillis, float[] sample, long[] refusedTotals) {
        if (sample.length != values.length || refusedTotals.length != refusals.length) {
            throw new IllegalArgumentException("expected " + values.length + " values and " + refusals.length
                    + " refusal counters");
        }
        times[next] = epochMillis;
        for (int s = 0; s < values.length; s++) {
            values[s][next] = sample[s];
        }
        for (int r = 0; r < refusals.length; r++) {
            refusals[r][next] = refusedTotals[r];
        }
        next = (next + 1) % times.length;
        size = Math.min(size + 1, times.length);
    }

    /** @return how many samples are held */
    synchronized int size() {
        return size;
    }

    /**
     * The samples, oldest first.
     *
     * @return times (epoch ms) and, per series, its values
     */
    synchronized View view() {
        long[] t = new long[size];
        float[][] v = new float[values.length][size];
        long[][] r = new long[refusals.length][size];
        int start = (next - size + times.length) % times.length;
        for (int i = 0; i < size; i++) {
            int k = (start + i) % times.length;
            t[i] = times[k];
            for (int s = 0; s < values.length; s++) {
                v[s][i] = values[s][k];
            }
            for (int x = 0; x < refusals.length; x++) {
                r[x][i] = refusals[x][k];
            }
        }
        return new View(t, v, r);
    }

    /**
     * Samples, oldest first.
     *
     * @param times their times, epoch ms
     * @param values per series (in {@link Series} order), one value per sample
     * @param refusedTotals per reason (in {@link #REFUSALS} order), the counter at each sample
     */
    record View(long[] times, float[][] values, long[][] refusedTotals) {

        /**
         * @param series a series
         * @return its values
         */
        float[] of(Series series) {
            return values[series.ordinal()];
        }

        /**
         * @param reason a refusal reason (one of {@link #REFUSALS})
         * @param sinceMillis a time
         * @return refusals for that reason between the first sample at or after the time and the
         *     last sample (0 with fewer than two such samples); a counter reset counts from zero
         */
        long refusedSince(String reason, long sinceMillis) {
            long[] totals = refusedTotals[REFUSALS.indexOf(reason)];
            int first = -1;
            for (int i = 0; i < times.length; i++) {
                if (times[i] >= sinceMillis) {
                    first = i;
                    break;
                }
            }
            if (first < 0) {
                return 0;
            }
            long n = 0;
            for (int i = first + 1; i < times.length; i++) {
                long d = totals[i] - totals[i - 1];
                n += d >= 0 ? d : totals[i];
            }
            return n;
        }
    }
}
