package io.llmlimiter.client.internal;

import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Request ids: short, since the log keeps one per request. {@link #next(String)} names the limiter
 * instance that sends it ({@code <process>.<random>}): on a target without leases the scripts keep
 * only each process's last admitted call to recognise a resend, since one process sends its calls
 * for a target one at a time (one line per process). Stateless and thread-safe.
 */
final class RequestIds {

    private RequestIds() {
    }

    /** @return a new process id: 8 URL-safe characters (48 random bits) naming one limiter instance */
    static String process() {
        byte[] b = new byte[6];
        ThreadLocalRandom.current().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /**
     * @param process the sending limiter's {@link #process()} id
     * @return {@code <process>.<12 random URL-safe characters>} (72 random bits)
     */
    static String next(String process) {
        byte[] b = new byte[9];
        ThreadLocalRandom.current().nextBytes(b);
        return process + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** @return a random 96-bit id, 16 URL-safe characters, naming no process */
    static String next() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
