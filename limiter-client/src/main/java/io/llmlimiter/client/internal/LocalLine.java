package io.llmlimiter.client.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The waiters of this process for one target, in arrival order. Only the head talks to Redis
 * (and holds the Redis ticket while it waits), so Redis work does not grow with local waiters;
 * when the head is admitted, the same script call admits a prefix of the waiters behind it
 * ({@link #MAX_BATCH} at most). A waiter that leaves (cancelled, deadline, settled) is dropped;
 * when the head leaves, the next waiter becomes the head and sends. Every method holds the line's
 * monitor only for a few field updates (never across I/O), so it is safe on Redis I/O threads.
 * This class is thread-safe.
 */
final class LocalLine {

    /** Waiters admitted with the head by one script call, at most. */
    static final int MAX_BATCH = 64;

    private final String processId;
    private final ArrayDeque<AcquireCall> waiting = new ArrayDeque<>();
    private AcquireCall head;
    /** The head was refused and sleeps until Redis's retry time or its wake-up. */
    private boolean headWaiting;

    /** @param processId the process id this line's request ids carry */
    LocalLine(String processId) {
        this.processId = processId;
    }

    /** @return the process id this line's request ids carry */
    String processId() {
        return processId;
    }

    /**
     * Joins the line.
     *
     * @return whether the call is the head now and must send
     */
    synchronized boolean join(AcquireCall call) {
        waiting.addLast(call);
        if (head == null) {
            head = call;
            headWaiting = false;
            return true;
        }
        return false;
    }

    /** @return whether the head was refused and waits (a non-blocking newcomer is refused at once) */
    synchronized boolean headWaiting() {
        return head != null && headWaiting;
    }

    /** The head was refused and waits, or sends again. */
    synchronized void headWaiting(AcquireCall call, boolean waits) {
        if (head == call) {
            headWaiting = waits;
        }
    }

    /** @return whether the call is the head */
    synchronized boolean isHead(AcquireCall call) {
        return head == call;
    }

    /**
     * @return the waiters behind the head that may ride on its script call, in arrival order
     */
    synchronized List<AcquireCall> followers(AcquireCall call) {
        List<AcquireCall> out = new ArrayList<>();
        if (head != call) {
            return out;
        }
        for (AcquireCall c : waiting) {
            if (c != call && !c.settledOrDone()) {
                out.add(c);
                if (out.size() == MAX_BATCH) {
                    break;
                }
            }
        }
        return out;
    }

    /** @return the waiters behind the head that do not wait (they are refused when the head is) */
    synchronized List<AcquireCall> nonBlockingFollowers() {
        List<AcquireCall> out = new ArrayList<>();
        for (AcquireCall c : waiting) {
            if (c != head && !c.blocking()) {
                out.add(c);
            }
        }
        return out;
    }

    /**
     * Leaves the line. When the call was the head, the next waiter still there becomes the head.
     *
     * @return the new head, which must send now, or null
     */
    synchronized AcquireCall leave(AcquireCall call) {
        waiting.remove(call);
        if (head != call) {
            return null;
        }
        head = null;
        headWaiting = false;
        Iterator<AcquireCall> it = waiting.iterator();
        while (it.hasNext()) {
            AcquireCall next = it.next();
            if (next.settledOrDone()) {
                it.remove();
                continue;
            }
            head = next;
            return next;
        }
        return null;
    }

    /** @return how many wait here, the head included */
    synchronized int size() {
        return waiting.size();
    }
}
