package io.llmlimiter.client;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A worker JVM for the multi-process tests: threads acquire, "call" (sleep), complete, until an
 * end time, and write every admission (Redis time in microseconds and tokens charged) to a file.
 *
 * <p>Arguments: redisUri target threads gateFile runMillis outFile callMillis tokenSizes(comma list).
 * The worker connects, prints {@code READY}, and waits for the gate file, which holds the start
 * time in epoch milliseconds ({@link StartGate}): the run lasts from there for runMillis, so every
 * JVM begins together however long the machine took to start them.
 */
public final class LoadWorker {

    private LoadWorker() {
    }

    public static void main(String[] args) throws Exception {
        String uri = args[0];
        Target target = Target.parse(args[1]);
        int threads = Integer.parseInt(args[2]);
        Path gate = Path.of(args[3]);
        long runMillis = Long.parseLong(args[4]);
        Path out = Path.of(args[5]);
        long callMillis = Long.parseLong(args[6]);
        long[] sizes = java.util.Arrays.stream(args[7].split(",")).mapToLong(Long::parseLong).toArray();

        ConcurrentLinkedQueue<String> admissions = new ConcurrentLinkedQueue<>();
        AtomicLong errors = new AtomicLong();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(uri).build()) {
            limiter.admin().config(target);
            System.out.println("READY");
            long start = StartGate.await(gate);
            long end = start + runMillis;
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(() -> {
                    try {
                        Thread.sleep(Math.max(0, start - System.currentTimeMillis()));
                    } catch (InterruptedException e) {
                        return;
                    }
                    while (System.currentTimeMillis() < end) {
                        long tokens = sizes[ThreadLocalRandom.current().nextInt(sizes.length)];
                        long wait = Math.max(1, end - System.currentTimeMillis());
                        try (Permit p = limiter.acquire(target, Estimate.tokens(tokens), Duration.ofMillis(wait))) {
                            long us = p.admittedAt().getEpochSecond() * 1_000_000 + p.admittedAt().getNano() / 1000;
                            admissions.add(us + " " + tokens);
                            Thread.sleep(callMillis);
                            p.complete(Usage.of(tokens / 2, tokens / 4));
                        } catch (RateLimitedException e) {
                            // Deadline reached at the end of the run: expected.
                        } catch (InterruptedException e) {
                            return;
                        } catch (RuntimeException e) {
                            errors.incrementAndGet();
                            System.out.println("ERROR " + e);
                        }
                    }
                });
                t.start();
                workers.add(t);
            }
            for (Thread t : workers) {
                t.join();
            }
        }
        writeAll(out, admissions, errors.get());
    }

    private static void writeAll(Path out, ConcurrentLinkedQueue<String> admissions, long errors) throws IOException {
        Path tmp = Files.createTempFile(out.getParent(), "part", ".tmp");
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(tmp))) {
            w.println("errors " + errors);
            admissions.forEach(w::println);
        }
        Files.move(tmp, out);
    }
}
