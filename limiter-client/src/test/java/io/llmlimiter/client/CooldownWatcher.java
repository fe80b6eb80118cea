package io.llmlimiter.client;

import java.time.Duration;

/**
 * A worker JVM for the shared-cooldown test: acquires and releases in a loop until {@code until}
 * (epoch millis), printing each admission's Redis time in microseconds.
 *
 * <p>Arguments: redisUri target untilEpochMillis
 */
public final class CooldownWatcher {

    private CooldownWatcher() {
    }

    public static void main(String[] args) throws Exception {
        Target target = Target.parse(args[1]);
        long until = Long.parseLong(args[2]);
        try (LlmLimiter limiter = LlmLimiter.builder().redis(args[0]).build()) {
            while (System.currentTimeMillis() < until) {
                try (Permit p = limiter.acquire(target, Estimate.requestOnly(), Duration.ofSeconds(10))) {
                    System.out.println("ADMIT " + (p.admittedAt().getEpochSecond() * 1_000_000
                            + p.admittedAt().getNano() / 1000));
                    System.out.flush();
                }
                Thread.sleep(50);
            }
        }
        System.out.println("DONE");
    }
}
