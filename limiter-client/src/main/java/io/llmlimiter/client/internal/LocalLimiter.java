package io.llmlimiter.client.internal;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.RateLimitedException;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The in-process limiter a client falls back to while Redis is unreachable (opt-in degraded
 * mode): the same sliding windows and concurrency cap, at a share of each amount, so that N
 * clients together stay within the budget when the share is {@code 1/N}. This class is
 * thread-safe.
 */
final class LocalLimiter {

    private final double share;
    private final Map<Target, Budget> budgets = new ConcurrentHashMap<>();

    LocalLimiter(double share) {
        this.share = share;
    }

    /**
     * @return the permit
     * @throws RateLimitedException when no room opens within {@code maxWait}
     */
    Permit acquire(Target target, LimitConfig config, Estimate estimate, Duration maxWait) throws InterruptedException {
        Budget b = budgets.computeIfAbsent(target, t -> new Budget());
        return b.acquire(target, config, estimate, System.nanoTime() + Math.max(0, maxWait.toNanos()));
    }

    long scaled(long amount) {
        return Math.max(1, (long) Math.floor(amount * share));
    }

    private record Entry(long nanos, Estimate estimate) {
    }

    /** One target's windows; guarded by its own monitor. */
    private final class Budget {
        private final Deque<Entry> log = new ArrayDeque<>();
        private int inFlight;

        synchronized Permit acquire(Target target, LimitConfig config, Estimate estimate, long deadline)
                throws InterruptedException {
            while (true) {
                long now = System.nanoTime();
                long longest = config.limits().stream().mapToLong(l -> l.window().toNanos()).max().orElse(0);
                while (!log.isEmpty() && log.peekFirst().nanos() <= now - longest) {
                    log.pollFirst();
                }
                long wait = waitNanos(config, estimate, now);
                if (wait == 0) {
                    log.addLast(new Entry(now, estimate));
                    inFlight++;
                    return new LocalPermit(target, estimate, this);
                }
                if (now >= deadline) {
                    throw new RateLimitedException(target, "degraded", "", Duration.ofNanos(wait));
                }
                long sleep = Math.min(wait, deadline - now);
                wait(Math.max(1, sleep / 1_000_000), (int) (sleep % 1_000_000));
            }
        }

        /** @return 0 when the estimate fits now, else how long until it might */
        private long waitNanos(LimitConfig config, Estimate estimate, long now) {
            long wait = 0;
            if (config.maxConcurrent() > 0 && inFlight >= scaled(config.maxConcurrent())) {
                wait = 50_000_000L; // a release notifies; this is only a fallback tick
            }
            for (Limit l : config.limits()) {
                long amount = scaled(l.amount());
                long need = amount(estimate, l.resource());
                long used = 0;
                for (Entry e : log) {
                    if (e.nanos() > now - l.window().toNanos()) {
                        used += amount(e.estimate(), l.resource());
                    }
                }
                long excess = used + need - amount;
                if (excess > 0) {
                    for (Entry e : log) {
                        if (e.nanos() > now - l.window().toNanos()) {
                            excess -= amount(e.estimate(), l.resource());
                            if (excess <= 0) {
                                wait = Math.max(wait, e.nanos() + l.window().toNanos() - now);
                                break;
                            }
                        }
                    }
                    if (excess > 0) {
                        wait = Math.max(wait, l.window().toNanos());
                    }
                }
            }
            return wait;
        }

        synchronized void release() {
            inFlight--;
            notifyAll();
        }
    }

    private static long amount(Estimate e, Resource r) {
        return switch (r) {
            case REQUESTS -> 1;
            case TOKENS -> e.tokens();
            case INPUT_TOKENS -> e.inputTokens();
            case OUTPUT_TOKENS -> e.outputTokens();
        };
    }

    /** A permit of the in-process limiter; completing it only frees its slot. */
    private static final class LocalPermit implements Permit {
        private final Target target;
        private final Estimate estimate;
        private final Budget budget;
        private final Instant admitted = Instant.now();
        private final String id = "local-" + RequestIds.next();
        private final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();

        LocalPermit(Target target, Estimate estimate, Budget budget) {
            this.target = target;
            this.estimate = estimate;
            this.budget = budget;
        }

        @Override
        public Target target() {
            return target;
        }

        @Override
        public String leaseId() {
            return id;
        }

        @Override
        public Instant admittedAt() {
            return admitted;
        }

        @Override
        public Estimate estimate() {
            return estimate;
        }

        @Override
        public void complete(Usage usage) {
            close();
        }

        @Override
        public CompletableFuture<Void> completeAsync(Usage usage) {
            close();
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void close() {
            if (done.compareAndSet(false, true)) {
                budget.release();
            }
        }
    }
}
