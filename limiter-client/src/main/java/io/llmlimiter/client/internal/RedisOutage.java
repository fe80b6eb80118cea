package io.llmlimiter.client.internal;

import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Says once per outage that Redis went away and when it answered again, whatever the number of
 * callers waiting for it. This class is thread-safe.
 */
final class RedisOutage {

    private static final Logger log = LoggerFactory.getLogger(RedisOutage.class);

    /** When the outage began ({@link System#nanoTime()}), 0 while Redis answers. */
    private final AtomicLong since = new AtomicLong();

    void unreachable(Throwable error) {
        long now = System.nanoTime();
        if (since.compareAndSet(0, now == 0 ? 1 : now)) {
            log.warn("Redis is unreachable ({}); nothing is admitted without it, blocking calls wait for it within "
                    + "their deadlines", Redacted.message(ScriptRunner.unwrap(error)));
        }
    }

    /** @return whether the last command failed for want of Redis and none answered since */
    boolean down() {
        return since.get() != 0;
    }

    void answered() {
        if (since.get() == 0) {
            return;
        }
        long began = since.getAndSet(0);
        if (began != 0) {
            log.info("Redis answers again after {} ms", (System.nanoTime() - began) / 1_000_000);
        }
    }
}
