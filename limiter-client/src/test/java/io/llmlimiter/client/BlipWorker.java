package io.llmlimiter.client;

import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A worker JVM for the Redis blip tests: built with its target's config (no admin server writes
 * it), it prints {@code READY} once built, waits for a go file, then runs its calls through
 * {@code execute} against an HTTP provider and writes {@code ok failed 429s lastDoneEpochMillis}.
 *
 * <p>Arguments: redisUri target limits providerUrl calls threads goFile outFile
 */
public final class BlipWorker {

    private BlipWorker() {
    }

    public static void main(String[] args) throws Exception {
        String uri = args[0];
        Target target = Target.parse(args[1]);
        LimitConfig config = LimitConfig.builder(target).limits(args[2])
                .retry(new RetrySettings(10, Duration.ofMillis(500), Duration.ofSeconds(5), Duration.ofMinutes(2)))
                .build();
        URI provider = URI.create(args[3]);
        long calls = Long.parseLong(args[4]);
        int threads = Integer.parseInt(args[5]);
        Path go = Path.of(args[6]);
        Path out = Path.of(args[7]);

        HttpClient http = HttpClient.newHttpClient();
        AtomicLong next = new AtomicLong();
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicLong rateLimited = new AtomicLong();
        AtomicLong lastDone = new AtomicLong();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(uri).config(config).build()) {
            System.out.println("READY");
            while (!Files.exists(go)) {
                Thread.sleep(10);
            }
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(() -> {
                    while (next.getAndIncrement() < calls) {
                        try {
                            limiter.execute(target, Estimate.requestOnly(), ctx -> {
                                HttpResponse<String> r = http.send(HttpRequest.newBuilder(provider)
                                        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                                        HttpResponse.BodyHandlers.ofString());
                                if (r.statusCode() == 429) {
                                    rateLimited.incrementAndGet();
                                }
                                if (r.statusCode() >= 300) {
                                    throw new io.llmlimiter.client.retry.HttpStatusException(r);
                                }
                                ctx.headers(r.headers().map());
                                return r.body();
                            });
                            ok.incrementAndGet();
                            lastDone.accumulateAndGet(System.currentTimeMillis(), Math::max);
                        } catch (RuntimeException e) {
                            failed.incrementAndGet();
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
        Path tmp = Files.createTempFile(out.getParent(), "part", ".tmp");
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(tmp))) {
            w.println(ok.get() + " " + failed.get() + " " + rateLimited.get() + " " + lastDone.get());
        }
        Files.move(tmp, out);
    }
}
