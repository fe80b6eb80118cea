package io.llmlimiter.client;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Replays recorded admissions and finds, for a limit, the most ever held by any sliding window
 * of its length. A window's content only grows at an admission, so checking the window that
 * ends at each admission covers every window.
 */
final class WindowAuditor {

    /** One admission: Redis time in microseconds and the tokens charged. */
    record Admission(long micros, long tokens) {
    }

    private WindowAuditor() {
    }

    static long maxInAnyWindow(List<Admission> admissions, Limit limit) {
        List<Admission> sorted = new ArrayList<>(admissions);
        sorted.sort(Comparator.comparingLong(Admission::micros));
        long w = limit.window().toNanos() / 1000;
        long max = 0;
        long sum = 0;
        int start = 0;
        for (Admission a : sorted) {
            sum += amount(a, limit.resource());
            // Window (t - w, t]: drop admissions at or before t - w.
            while (sorted.get(start).micros() <= a.micros() - w) {
                sum -= amount(sorted.get(start), limit.resource());
                start++;
            }
            max = Math.max(max, sum);
        }
        return max;
    }

    /** The most admitted in consecutive fixed windows from the first admission: the budget used. */
    static long usedInWindows(List<Admission> admissions, Limit limit, int windows) {
        long first = admissions.stream().mapToLong(Admission::micros).min().orElse(0);
        long end = first + windows * (limit.window().toNanos() / 1000);
        return admissions.stream().filter(a -> a.micros() < end).mapToLong(a -> amount(a, limit.resource())).sum();
    }

    private static long amount(Admission a, Resource r) {
        return r == Resource.REQUESTS ? 1 : a.tokens();
    }
}
