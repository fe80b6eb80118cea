package io.llmlimiter.testing;

import java.util.ArrayList;
import java.util.List;
import reactor.blockhound.BlockHound;

/**
 * BlockHound, installed once per JVM, recording (never throwing) every blocking call made on a
 * thread that must not block: the Redis client's I/O threads ({@code lettuce-*}, Netty event
 * loops), the limiter's timer, and any test thread whose name starts with {@link #NON_BLOCKING}.
 * Tests read and clear the record. Logging is allowed (where a test run's log goes is not the
 * code under test), and so are the short locks inside Netty's buffer allocator. This class is thread-safe.
 */
public final class BlockingDetector {

    /** Name prefix of test threads that must never block, e.g. a thread calling an async API. */
    public static final String NON_BLOCKING = "nonblocking-";

    private static final List<String> VIOLATIONS = new ArrayList<>();
    private static boolean installed;

    private BlockingDetector() {
    }

    /** Installs BlockHound (needs {@code -XX:+AllowRedefinitionToAddDeleteMethods} on Java 13+). Idempotent. */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        BlockHound.builder()
                .loadIntegrations()
                .nonBlockingThreadPredicate(p -> p.or(BlockingDetector::mustNotBlock))
                .allowBlockingCallsInside("ch.qos.logback.core.OutputStreamAppender", "writeBytes")
                .allowBlockingCallsInside("ch.qos.logback.core.AppenderBase", "doAppend")
                // Netty's buffer allocator takes a short internal lock when it grows or frees a magazine.
                .allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$Magazine", "free")
                .allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup",
                        "tryExpandMagazines")
                .blockingMethodCallback(method -> {
                    StringBuilder where = new StringBuilder(method + " on " + Thread.currentThread().getName());
                    for (StackTraceElement e : new Throwable().getStackTrace()) {
                        where.append("\n\tat ").append(e);
                    }
                    synchronized (VIOLATIONS) {
                        VIOLATIONS.add(where.toString());
                    }
                })
                .install();
        installed = true;
    }

    private static boolean mustNotBlock(Thread t) {
        String name = t.getName();
        return name.startsWith("lettuce-") || name.startsWith("llmlim-timer") || name.startsWith(NON_BLOCKING);
    }

    /** @return the blocking calls seen since the last {@link #clear()}, with their stacks */
    public static List<String> violations() {
        synchronized (VIOLATIONS) {
            return List.copyOf(VIOLATIONS);
        }
    }

    /** Forgets what was seen. */
    public static void clear() {
        synchronized (VIOLATIONS) {
            VIOLATIONS.clear();
        }
    }
}
