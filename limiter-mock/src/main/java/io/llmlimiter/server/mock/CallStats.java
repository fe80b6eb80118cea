package io.llmlimiter.server.mock;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts calls to the provider endpoints by response status. This class is thread-safe.
 */
final class CallStats {

    private final LongAdder total = new LongAdder();
    private final Map<Integer, LongAdder> byStatus = new ConcurrentHashMap<>();

    /**
     * @param status the status a call was answered with
     */
    void record(int status) {
        total.increment();
        byStatus.computeIfAbsent(status, s -> new LongAdder()).increment();
    }

    /**
     * @return every call counted
     */
    long total() {
        return total.sum();
    }

    /**
     * @param fromInclusive the lowest status counted
     * @param toInclusive the highest status counted
     * @return calls answered with a status in the range
     */
    long count(int fromInclusive, int toInclusive) {
        long n = 0;
        for (Map.Entry<Integer, LongAdder> e : byStatus.entrySet()) {
            if (e.getKey() >= fromInclusive && e.getKey() <= toInclusive) {
                n += e.getValue().sum();
            }
        }
        return n;
    }

    /** Sets every count back to zero. */
    void reset() {
        total.reset();
        byStatus.clear();
    }
}
