package io.llmlimiter.server;

import java.time.Instant;

/**
 * When a config (or its deletion) was decided: its revision and its update time. Revisions come
 * from a hybrid logical clock (see {@link RevisionClock}), milliseconds since the epoch that never
 * go backwards, so the newest revision wins wherever two copies of a config disagree. Immutable.
 *
 * @param revision the revision, greater for newer changes
 * @param updatedMs when the change was made, ms since the epoch
 */
public record Stamp(long revision, long updatedMs) {

    /** @return the update time */
    public Instant updatedAt() {
        return Instant.ofEpochMilli(updatedMs);
    }

    /**
     * @param other another stamp, or null
     * @return whether this one is strictly newer
     */
    public boolean newerThan(Stamp other) {
        return other == null || revision > other.revision;
    }
}
