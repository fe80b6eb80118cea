package io.llmlimiter.client;

import java.time.Duration;

/**
 * A worker JVM for the fair-line tests: acquires {@code count} times in a row (0 = until killed),
 * each a blocking acquire of {@code tokens} tokens (0 = a request only) held {@code holdMs} before
 * it is released. Prints "WAITING" before each acquire and "ADMITTED elapsed_ms" after it.
 *
 * <p>Arguments: redisUri target ticketTtlMs tokens count holdMs
 */
public final class LineWorker {

    private LineWorker() {
    }

    public static void main(String[] args) throws Exception {
        Target target = Target.parse(args[1]);
        long tokens = Long.parseLong(args[3]);
        int count = Integer.parseInt(args[4]);
        long holdMs = Long.parseLong(args[5]);
        Estimate estimate = tokens == 0 ? Estimate.requestOnly() : Estimate.tokens(tokens);
        try (LlmLimiter limiter = LlmLimiter.builder().redis(args[0])
                .ticketTtl(Duration.ofMillis(Long.parseLong(args[2]))).build()) {
            for (int i = 0; count == 0 || i < count; i++) {
                System.out.println("WAITING");
                System.out.flush();
                long start = System.nanoTime();
                try (Permit p = limiter.acquire(target, estimate, Duration.ofSeconds(60))) {
                    System.out.println("ADMITTED " + (System.nanoTime() - start) / 1_000_000);
                    System.out.flush();
                    Thread.sleep(holdMs);
                }
            }
        }
    }
}
