package io.llmlimiter.server.mock;

import java.util.ArrayDeque;
import java.util.OptionalInt;

/**
 * A queue of forced answers, for testing clients that retry: each call first takes the next forced
 * status, if any, and answers it without touching the windows. This class is thread-safe.
 */
final class FaultInjector {

    private static final class Pending {
        final int status;
        int left;

        Pending(int status, int left) {
            this.status = status;
            this.left = left;
        }
    }

    private final ArrayDeque<Pending> queue = new ArrayDeque<>();

    /**
     * Queues {@code times} forced answers with {@code status}, after those already queued.
     *
     * @param status an error status, 400 to 599
     * @param times how many calls get it, 0 or more
     */
    synchronized void add(int status, int times) {
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("status must be an error status between 400 and 599, got " + status);
        }
        if (times < 0) {
            throw new IllegalArgumentException("times must be 0 or more, got " + times);
        }
        if (times > 0) {
            queue.addLast(new Pending(status, times));
        }
    }

    /**
     * @return the status to force on this call, if any, consuming it
     */
    synchronized OptionalInt next() {
        Pending p = queue.peekFirst();
        if (p == null) {
            return OptionalInt.empty();
        }
        if (--p.left == 0) {
            queue.pollFirst();
        }
        return OptionalInt.of(p.status);
    }

    /**
     * @return how many forced answers are still queued
     */
    synchronized int pending() {
        int n = 0;
        for (Pending p : queue) {
            n += p.left;
        }
        return n;
    }

    /** Drops every queued forced answer. */
    synchronized void clear() {
        queue.clear();
    }
}
