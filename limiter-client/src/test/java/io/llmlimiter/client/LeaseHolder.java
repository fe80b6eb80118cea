package io.llmlimiter.client;

import java.time.Duration;

/**
 * A worker JVM for the crash test: takes {@code n} permits, says HELD, then keeps them (renewed
 * in the background) until it is killed.
 *
 * <p>Arguments: redisUri target n
 */
public final class LeaseHolder {

    private LeaseHolder() {
    }

    public static void main(String[] args) throws Exception {
        LlmLimiter limiter = LlmLimiter.builder().redis(args[0]).build();
        Target target = Target.parse(args[1]);
        int n = Integer.parseInt(args[2]);
        for (int i = 0; i < n; i++) {
            limiter.acquire(target, Estimate.requestOnly(), Duration.ofSeconds(10));
        }
        System.out.println("HELD");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
