package io.llmlimiter.server.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Finds a request limit from 429s alone. Tiny calls go out from several threads until the first
 * request 429; the calls admitted before the provider frees its first slot are the limit, and that
 * moment ({@code Retry-After}, or polling until a call succeeds) minus the first call is the window.
 * Calls made earlier may or may not still count, so once the first burst has bounded the window,
 * the ramp waits until every earlier call has surely left it and bursts again on an empty window.
 * Not thread-safe: one ramp runs once.
 */
final class RequestRamp {

    /** Marks "every call so far" where a start time is expected. */
    private static final long ALL = Long.MIN_VALUE;

    private final ProbeClient client;
    private final int threads;
    private final List<String> notes;

    // Mutable state
    private boolean lastWasSlow;

    /**
     * @param client sends the calls
     * @param threads calls in flight at once (the concurrency cap, when one was found)
     * @param notes where to say what could not be measured
     */
    RequestRamp(ProbeClient client, int threads, List<String> notes) {
        this.client = client;
        this.threads = threads;
        this.notes = notes;
    }

    /**
     * @return the request limit, a lower bound when no 429 came within the budget, or empty when
     *     nothing was admitted
     * @throws InterruptedException when interrupted
     */
    Optional<Finding> run() throws InterruptedException {
        Optional<Finding> first = measure(ALL);
        if (first.isEmpty() || first.get().lowerBound()) {
            return first;
        }
        if (client.remaining() < first.get().amount() + 3) {
            notes.add("requests: no budget left for a second burst on an empty window; calls made before the "
                    + "first burst may have counted");
            return slowNoted(first);
        }
        long lastAdmitted = admittedSince(ALL).stream().mapToLong(ProbeCall::sentNanos).max().orElse(System.nanoTime());
        // The first burst's window is an upper bound: after it, nothing earlier still counts.
        long emptyAt = lastAdmitted + first.get().window().toNanos() + 50_000_000;
        LimitProbe.sleep(Duration.ofNanos(emptyAt - System.nanoTime()));
        boolean firstWasSlow = lastWasSlow;
        Optional<Finding> second = measure(System.nanoTime());
        if (second.isPresent() && !second.get().lowerBound()) {
            return slowNoted(second);
        }
        lastWasSlow = firstWasSlow;
        return slowNoted(first);
    }

    private Optional<Finding> slowNoted(Optional<Finding> finding) {
        if (lastWasSlow) {
            notes.add("requests: the probe could not call much faster than the limit allows (latency and concurrency "
                    + "bind first), so the window and amount may be overestimated; their ratio holds");
        }
        return finding;
    }

    /** One burst from {@code since}, and what its first request 429 says. */
    private Optional<Finding> measure(long since) throws InterruptedException {
        if (refusalSince(since).isEmpty()) {
            burst();
        }
        List<ProbeCall> admitted = admittedSince(since);
        if (admitted.isEmpty()) {
            return Optional.empty();
        }
        long t1 = admitted.get(0).sentNanos();
        Optional<ProbeCall> refusal = refusalSince(since);
        if (refusal.isEmpty()) {
            long span = admitted.get(admitted.size() - 1).sentNanos() - t1;
            notes.add("requests: no 429 within the budget; at least " + admitted.size() + " are allowed");
            return Optional.of(new Finding(admitted.size(), HeaderLimits.nice(Duration.ofNanos(Math.max(1, span))),
                    "429s", true));
        }
        ProbeCall f = refusal.get();
        long freeAt = windowEnd(f, t1);
        long window = freeAt - t1;
        long amount = admittedSince(since).stream().filter(c -> c.sentNanos() - freeAt < 0).count();
        lastWasSlow = f.sentNanos() - t1 > window / 2;
        return Optional.of(new Finding(amount, HeaderLimits.nice(Duration.ofNanos(window)), "429s", false));
    }

    /** When the provider frees the first slot: from a precise Retry-After, else by polling. */
    private long windowEnd(ProbeCall refusal, long t1) throws InterruptedException {
        Optional<Duration> r = refusal.retryAfter();
        if (r.isPresent() && r.get().toMillis() % 1000 != 0) {
            return refusal.sentNanos() + r.get().toNanos();
        }
        // Whole seconds are rounded up: poll from a second before, in steps of 5% of the elapsed time.
        long from = refusal.sentNanos() + r.map(d -> d.minusSeconds(1).toNanos()).orElse(0L);
        LimitProbe.sleep(Duration.ofNanos(from - System.nanoTime()));
        while (true) {
            ProbeCall c = client.call(1);
            if (c.admitted()) {
                return c.sentNanos();
            }
            LimitProbe.sleep(Duration.ofNanos(Math.max(10_000_000, (System.nanoTime() - t1) / 20)));
        }
    }

    private List<ProbeCall> admittedSince(long since) {
        return client.calls().stream().filter(ProbeCall::admitted).filter(c -> after(c, since))
                .sorted(Comparator.comparingLong(ProbeCall::sentNanos)).toList();
    }

    private Optional<ProbeCall> refusalSince(long since) {
        return client.calls().stream()
                .filter(c -> c.kind() == ProbeCall.Kind.REQUESTS || c.kind() == ProbeCall.Kind.RATE_LIMITED)
                .filter(c -> after(c, since)).min(Comparator.comparingLong(ProbeCall::sentNanos));
    }

    private static boolean after(ProbeCall c, long since) {
        return since == ALL || c.sentNanos() - since >= 0;
    }

    /** Calls from every thread until the first request 429 or the end of the budget. */
    private void burst() throws InterruptedException {
        client.warmUp(threads);
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        ProbeCall c = client.call(1);
                        switch (c.kind()) {
                            case OK -> { }
                            case CONCURRENCY -> LimitProbe.sleep(c.retryAfter().orElse(Duration.ofMillis(50)));
                            default -> stop.set(true);
                        }
                    }
                } catch (ProbeClient.OutOfCalls | InterruptedException e) {
                    stop.set(true);
                }
            }, "probe-burst-" + i);
            t.start();
            workers.add(t);
        }
        for (Thread t : workers) {
            t.join();
        }
    }
}
