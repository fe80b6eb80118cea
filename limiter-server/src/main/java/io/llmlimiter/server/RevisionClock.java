package io.llmlimiter.server;

import java.util.function.LongSupplier;

/**
 * A hybrid logical clock for config revisions: a new revision is {@code max(now_ms, highest
 * revision seen + 1)}. Every revision read from Redis or the config file is observed, so a change
 * made after a Redis that restarted empty, rolled back, or was written by a server whose clock runs
 * ahead still gets a revision above everything this server has seen. Thread-safe.
 */
public final class RevisionClock {

    private final LongSupplier nowMs;
    private long highest;

    /** @param nowMs the wall clock, ms since the epoch */
    public RevisionClock(LongSupplier nowMs) {
        this.nowMs = nowMs;
    }

    /** @return a revision above every revision seen or given out before */
    public synchronized long next() {
        highest = Math.max(nowMs.getAsLong(), highest + 1);
        return highest;
    }

    /** @return a new stamp, its update time the wall clock */
    public Stamp stamp() {
        long rev = next();
        return new Stamp(rev, Math.min(rev, nowMs.getAsLong()));
    }

    /** @param revision a revision read from Redis or the file */
    public synchronized void observe(long revision) {
        highest = Math.max(highest, revision);
    }

    /** @return the wall clock, ms */
    public long nowMs() {
        return nowMs.getAsLong();
    }
}
