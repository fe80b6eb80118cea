package io.llmlimiter.client;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A worker JVM for the dollar budget race: threads run {@code execute} (the retry loop) on one
 * target until the target's budget refuses them, each "call" reporting a usage within its
 * estimate. Writes what it saw to a file:
 * {@code calls N}, {@code spent MICROS} (the actual cost of its calls, priced as the config says),
 * {@code refused N} (BudgetExceededException), {@code ran_after_refusal N} (a refused call whose
 * provider call ran anyway: must be 0), {@code errors N}, then one {@code budget <name> <left>}
 * line per refusal.
 *
 * <p>Arguments: redisUri target threads startEpochMillis outFile
 */
public final class BudgetWorker {

    /** Each call's estimate: 500 input tokens, at most 1000 output tokens. */
    static final Estimate ESTIMATE = Estimate.of(500, 1000);

    private BudgetWorker() {
    }

    public static void main(String[] args) throws Exception {
        String uri = args[0];
        Target target = Target.parse(args[1]);
        int threads = Integer.parseInt(args[2]);
        long start = Long.parseLong(args[3]);
        Path out = Path.of(args[4]);

        AtomicLong calls = new AtomicLong();
        AtomicLong spent = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicLong ranAfterRefusal = new AtomicLong();
        ConcurrentLinkedQueue<String> refusals = new ConcurrentLinkedQueue<>();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(uri).build()) {
            ModelPrice price = limiter.admin().config(target).orElseThrow().prices();
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(() -> {
                    try {
                        Thread.sleep(Math.max(0, start - System.currentTimeMillis()));
                    } catch (InterruptedException e) {
                        return;
                    }
                    while (true) {
                        long output = ThreadLocalRandom.current().nextLong(100, ESTIMATE.outputTokens() + 1);
                        AtomicLong ran = new AtomicLong();
                        try {
                            limiter.execute(target, ESTIMATE, ctx -> {
                                ran.incrementAndGet();
                                Thread.sleep(ThreadLocalRandom.current().nextLong(5, 30));
                                ctx.usage(Usage.of(ESTIMATE.inputTokens(), output));
                                return null;
                            });
                            calls.incrementAndGet();
                            spent.addAndGet(price.microUsd(ESTIMATE.inputTokens(), 0, 0, output));
                        } catch (BudgetExceededException e) {
                            if (ran.get() > 0) {
                                ranAfterRefusal.incrementAndGet();
                            }
                            refusals.add("budget " + e.budget() + " " + e.leftMicroUsd());
                            return;
                        } catch (RuntimeException e) {
                            errors.incrementAndGet();
                            System.out.println("ERROR " + e);
                            return;
                        }
                    }
                });
                t.start();
                workers.add(t);
            }
            System.out.println("STARTED");
            for (Thread t : workers) {
                t.join();
            }
        }
        Path tmp = Files.createTempFile(out.getParent(), "part", ".tmp");
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(tmp))) {
            w.println("calls " + calls.get());
            w.println("spent " + spent.get());
            w.println("refused " + refusals.size());
            w.println("ran_after_refusal " + ranAfterRefusal.get());
            w.println("errors " + errors.get());
            refusals.forEach(w::println);
        }
        Files.move(tmp, out);
    }
}
