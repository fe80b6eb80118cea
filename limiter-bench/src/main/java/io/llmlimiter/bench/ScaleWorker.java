package io.llmlimiter.bench;

import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One JVM of the {@code scale} phase: {@code callers} callers of {@code acquireAsync} on one
 * target, each asking again as soon as its call completes, until the end time. No thread per
 * caller (the JVM is 17): each caller is a chain of futures. Prints {@code STARTED}, then
 * {@code ADMITTED n} at the end.
 *
 * <p>Arguments: redisUri target callers endEpochMillis
 */
public final class ScaleWorker {

    private ScaleWorker() {
    }

    /**
     * @param args redisUri target callers endEpochMillis
     * @throws InterruptedException when interrupted while waiting for the end
     */
    public static void main(String[] args) throws InterruptedException {
        String uri = args[0];
        Target target = Target.parse(args[1]);
        int callers = Integer.parseInt(args[2]);
        long end = Long.parseLong(args[3]);
        AtomicLong admitted = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(uri).build()) {
            for (int i = 0; i < callers; i++) {
                next(limiter, target, end, admitted, errors);
            }
            System.out.println("STARTED");
            System.out.flush();
            Thread.sleep(Math.max(0, end - System.currentTimeMillis()));
        }
        System.out.println("ADMITTED " + admitted.get() + " ERRORS " + errors.get());
    }

    private static void next(LlmLimiter limiter, Target target, long end, AtomicLong admitted, AtomicLong errors) {
        long left = end - System.currentTimeMillis();
        if (left <= 0) {
            return;
        }
        limiter.acquireAsync(target, LimiterContender.ESTIMATE, Duration.ofMillis(left))
                .whenComplete((Permit p, Throwable e) -> {
                    if (e != null) {
                        errors.incrementAndGet();
                        next(limiter, target, end, admitted, errors);
                        return;
                    }
                    admitted.incrementAndGet();
                    p.completeAsync(LimiterContender.USAGE)
                            .whenComplete((ok, ce) -> next(limiter, target, end, admitted, errors));
                });
    }
}
