package io.llmlimiter.server.mock;

import java.util.ArrayDeque;

/**
 * An exact sliding window: every charge is kept with its time, and a charge made at {@code t}
 * counts while {@code now - window < t}, i.e. in {@code (now - window, now]}. The window length is
 * passed on each call so that a live reconfiguration applies at once. Not thread-safe: the caller
 * holds a lock.
 */
final class SlidingWindow {

    private record Charge(long at, long amount) {
    }

    private final ArrayDeque<Charge> charges = new ArrayDeque<>();
    private long sum;

    /**
     * @param now the current {@link System#nanoTime()}
     * @param windowNanos the window length
     * @return the amount charged in {@code (now - window, now]}
     */
    long used(long now, long windowNanos) {
        evict(now, windowNanos);
        return sum;
    }

    /**
     * @param now the time of the charge
     * @param amount the amount charged
     */
    void add(long now, long amount) {
        charges.addLast(new Charge(now, amount));
        sum += amount;
    }

    /**
     * @param now the current time
     * @param windowNanos the window length
     * @param limit the window's limit
     * @param amount the amount that should fit
     * @return nanoseconds until {@code amount} fits, 0 if it fits now, -1 if it never can
     */
    long nanosUntilFits(long now, long windowNanos, long limit, long amount) {
        evict(now, windowNanos);
        if (sum + amount <= limit) {
            return 0;
        }
        if (amount > limit) {
            return -1;
        }
        long freed = 0;
        for (Charge c : charges) {
            freed += c.amount();
            if (sum - freed + amount <= limit) {
                return c.at() + windowNanos - now;
            }
        }
        return -1;
    }

    /**
     * @param now the current time
     * @param windowNanos the window length
     * @return nanoseconds until every current charge has left the window, 0 if it is empty
     */
    long nanosUntilEmpty(long now, long windowNanos) {
        evict(now, windowNanos);
        Charge last = charges.peekLast();
        return last == null ? 0 : last.at() + windowNanos - now;
    }

    /** Forgets every charge. */
    void clear() {
        charges.clear();
        sum = 0;
    }

    private void evict(long now, long windowNanos) {
        // Compare differences, not absolute values: nanoTime may be negative or wrap.
        while (!charges.isEmpty() && now - charges.peekFirst().at() >= windowNanos) {
            sum -= charges.pollFirst().amount();
        }
    }
}
