package io.llmlimiter.server.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live counters of a running workload: calls finished, succeeded, failed, provider 429s seen and
 * retries made, plus the first few distinct error messages. Updated by every worker thread and read
 * by the progress printer. This class is thread-safe.
 */
public final class Tally {

    /** How many distinct error messages are kept; the rest are counted under the last one kept. */
    static final int MAX_ERRORS = 5;

    private final LongAdder succeeded = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder provider429 = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder costMicros = new LongAdder();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();

    /**
     * The counters at one moment. This record is immutable and thread-safe.
     *
     * @param succeeded calls that succeeded
     * @param failed calls that failed for good
     * @param provider429 429 answers from the provider
     * @param retries attempts after a call's first
     */
    public record Snapshot(long succeeded, long failed, long provider429, long retries) {

        /** No calls yet. */
        public static final Snapshot ZERO = new Snapshot(0, 0, 0, 0);

        /** @return calls finished, either way */
        public long done() {
            return succeeded + failed;
        }

        /**
         * @param other another snapshot
         * @return the sum of both
         */
        public Snapshot plus(Snapshot other) {
            return new Snapshot(succeeded + other.succeeded, failed + other.failed, provider429 + other.provider429,
                    retries + other.retries);
        }
    }

    /** Counts a call that succeeded. */
    public void succeeded() {
        succeeded.increment();
    }

    /**
     * Counts a call that failed for good.
     *
     * @param why the error message, kept if it is among the first few distinct ones
     */
    public void failed(String why) {
        failed.increment();
        String key = why == null ? "unknown error" : why.length() > 200 ? why.substring(0, 200) + "..." : why;
        LongAdder n = errors.get(key);
        if (n == null && errors.size() >= MAX_ERRORS) {
            key = "other errors";
        }
        errors.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    /**
     * Adds the cost of a call that succeeded.
     *
     * @param micros its cost in micro-dollars
     */
    public void cost(long micros) {
        costMicros.add(micros);
    }

    /** @return the cost of the calls that succeeded so far, in micro-dollars */
    public long costMicros() {
        return costMicros.sum();
    }

    /** Counts a 429 answer from the provider. */
    public void provider429() {
        provider429.increment();
    }

    /** Counts an attempt after a call's first. */
    public void retried() {
        retries.increment();
    }

    /** @return the counters now */
    public Snapshot snapshot() {
        return new Snapshot(succeeded.sum(), failed.sum(), provider429.sum(), retries.sum());
    }

    /** @return distinct error messages with their counts, in no particular order */
    public Map<String, Long> errors() {
        Map<String, Long> out = new LinkedHashMap<>();
        errors.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
