package io.llmlimiter.server.mock;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The most recent admissions, in admission order, kept so that tests can check the windows the
 * provider saw. Only the last {@value #CAPACITY} are kept so that a long demo does not grow without
 * bound. This class is thread-safe.
 */
final class AdmissionLog {

    /** How many admissions are kept. */
    static final int CAPACITY = 1_000_000;

    private final ArrayDeque<Admission> entries = new ArrayDeque<>();

    /**
     * @param admission the admission to append; callers append in {@code nanoTime} order
     */
    synchronized void record(Admission admission) {
        if (entries.size() == CAPACITY) {
            entries.pollFirst();
        }
        entries.addLast(admission);
    }

    /**
     * @return a copy of the kept admissions, oldest first
     */
    synchronized List<Admission> snapshot() {
        return List.copyOf(entries);
    }

    /** Forgets every admission. */
    synchronized void clear() {
        entries.clear();
    }

    /**
     * @param window a window length
     * @return the most admissions in any {@code (t - window, t]}
     */
    long maxRequestsInAnyWindow(Duration window) {
        return maxInAnyWindow(window, false);
    }

    /**
     * @param window a window length
     * @return the most tokens charged in any {@code (t - window, t]}
     */
    long maxTokensInAnyWindow(Duration window) {
        return maxInAnyWindow(window, true);
    }

    private long maxInAnyWindow(Duration window, boolean tokens) {
        List<Admission> list = new ArrayList<>(snapshot());
        long windowNanos = window.toNanos();
        long best = 0;
        long sum = 0;
        int start = 0;
        for (Admission a : list) {
            sum += tokens ? a.tokens() : 1;
            while (a.nanoTime() - list.get(start).nanoTime() >= windowNanos) {
                sum -= tokens ? list.get(start).tokens() : 1;
                start++;
            }
            best = Math.max(best, sum);
        }
        return best;
    }
}
