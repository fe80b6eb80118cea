package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.FairShare;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterException;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.client.TenantShare;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.server.mock.MockProvider;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Two teams on one key: {@code batch-team} floods a target from many workers at priority
 * {@code batch} while {@code chat} makes interactive calls one at a time. The same calls run
 * twice against the mock provider, through the limiter: without fair share, where Redis's line is
 * in arrival order and each chat call waits behind a ticket of every flooding worker; then with a
 * {@link FairShare} config put live through the admin API, where the interactive class goes first.
 * Each run reports both teams' shares of the admitted calls, the chat calls' wait for admission
 * (p50 and max), the batch calls admitted while a chat call waited, and the provider's 429s; every
 * number is measured. Not thread-safe: the demo runs it once.
 */
final class TwoTeams {

    static final Target TARGET = new Target("demo", "two-teams");
    /**
     * The target's limits: 4 calls per half second, under the mock provider's 10 a second, so the
     * provider never answers 429 nor reports its budget spent and the fleet's sharing is all the run
     * shows. A short window makes each run's turns quick: the flood is admitted a window's worth at a
     * time, and a chat call that goes first waits for the next window at most.
     */
    static final String LIMITS = "requests=4/500ms";
    static final int MAX_CONCURRENT = 4;
    static final Tenant BATCH = Tenant.of("batch-team", Priority.BATCH);
    static final Tenant CHAT = Tenant.of("chat", Priority.INTERACTIVE);
    /**
     * Flooding workers, three windows' worth, each its own limiter client as the workers of a batch
     * job are separate processes: Redis's line then holds a ticket of each.
     */
    static final int BATCH_WORKERS = 12;
    /** How long chat calls are made in each run, once the flood has filled the first window. */
    static final Duration CHAT_TIME = Duration.ofSeconds(3);
    /** The pause between two chat calls: a person reads the answer. */
    static final Duration READING = Duration.ofMillis(200);
    private static final Duration FLOOD_START = Duration.ofSeconds(30);

    private final DemoEnvironment env;
    private final SeedDemos seed;
    private final PrintWriter out;

    /**
     * @param env what the demo runs on
     * @param seed the shared call and config helpers
     * @param out where the demo's lines go
     */
    TwoTeams(DemoEnvironment env, SeedDemos seed, PrintWriter out) {
        this.env = env;
        this.seed = seed;
        this.out = out;
    }

    /**
     * What one run measured.
     *
     * @param name the run's row in the table
     * @param batchAdmitted admissions of {@code batch-team} while chat calls were made
     * @param chatAdmitted admissions of {@code chat}
     * @param failed calls that failed for good
     * @param chatWaits each chat call's wait from the call to its admission, seconds
     * @param batchAhead for each chat call, the batch calls admitted while it waited
     * @param provider429 the provider's 429 answers during the run
     * @param providerMaxPerSecond the most requests the provider served in any second of the run
     * @param providerMaxAtOnce the most requests the provider served at once during the run
     */
    record Run(String name, long batchAdmitted, long chatAdmitted, long failed, List<Double> chatWaits,
               List<Long> batchAhead, long provider429, long providerMaxPerSecond, int providerMaxAtOnce) {

        /** @return chat's admitted calls over both teams', 0 to 1 */
        double chatShare() {
            long all = batchAdmitted + chatAdmitted;
            return all == 0 ? 0 : (double) chatAdmitted / all;
        }

        /** @return batch-team's admitted calls over both teams', 0 to 1 */
        double batchShare() {
            long all = batchAdmitted + chatAdmitted;
            return all == 0 ? 0 : (double) batchAdmitted / all;
        }

        double waitP50() {
            return chatWaits.isEmpty() ? Double.NaN : median(chatWaits);
        }

        double waitMax() {
            return chatWaits.isEmpty() ? Double.NaN : Collections.max(chatWaits);
        }

        long aheadP50() {
            return batchAhead.isEmpty() ? 0 : median(batchAhead);
        }

        long aheadMax() {
            return batchAhead.isEmpty() ? 0 : Collections.max(batchAhead);
        }

        ObjectNode toJson() {
            ObjectNode o = CliSupport.JSON.createObjectNode();
            o.put("batch_admitted", batchAdmitted).put("chat_admitted", chatAdmitted)
                    .put("chat_share", CliSupport.round3(chatShare()))
                    .put("batch_share", CliSupport.round3(batchShare()))
                    .put("chat_calls", chatWaits.size()).put("failed", failed).put("provider_429", provider429)
                    .put("provider_max_requests_in_any_second", providerMaxPerSecond)
                    .put("provider_max_concurrent_seen", providerMaxAtOnce);
            putSeconds(o, "chat_wait_p50_seconds", waitP50());
            putSeconds(o, "chat_wait_max_seconds", waitMax());
            o.put("batch_ahead_p50", aheadP50()).put("batch_ahead_max", aheadMax());
            return o;
        }

        private static void putSeconds(ObjectNode o, String field, double seconds) {
            if (Double.isNaN(seconds)) {
                o.putNull(field);
            } else {
                o.put(field, CliSupport.round3(seconds));
            }
        }
    }

    /**
     * Runs the flood without and then with fair share, and prints the table.
     *
     * @return both runs as JSON
     * @throws IOException when the admin API refuses a config
     * @throws InterruptedException when interrupted
     */
    ObjectNode run() throws IOException, InterruptedException {
        LimitConfig plain = LimitConfig.builder(TARGET).limits(LIMITS).maxConcurrent(MAX_CONCURRENT)
                .prices(Comparison.MOCK_PRICES).build();
        FairShare share = FairShare.builder().tenant(BATCH.name(), TenantShare.weight(1))
                .tenant(CHAT.name(), TenantShare.weight(1)).build();
        LimitConfig fair = plain.toBuilder().fairShare(share).build();
        MockProvider p = env.provider();
        p.reconfigure(DemoCommand.DEMO_PROVIDER);
        seed.configure(plain);
        seed.heading("Two teams, one key: a batch flood and an interactive chat, without and with fair share",
                TARGET + ": " + LIMITS + ", " + MAX_CONCURRENT + " at once (the provider allows 10/1s); tenant "
                        + BATCH.name() + " floods from " + BATCH_WORKERS + " workers at priority "
                        + BATCH.priority().label() + ", tenant " + CHAT.name() + " makes " + CHAT.priority().label()
                        + " calls one at a time for " + CHAT_TIME.toSeconds() + " s (" + READING.toMillis()
                        + " ms apart)");
        out.println("  batch ahead: batch calls admitted while a chat call waited");
        out.flush();
        List<LlmLimiter> workers = new ArrayList<>();
        try {
            for (int i = 0; i < BATCH_WORKERS; i++) {
                workers.add(LlmLimiter.builder().redis(env.redisUri()).build());
            }
            Run without = measure("without fair share (arrival order)", workers);
            String put = env.adminApi().putConfig(fair);
            out.println("  " + put + " {\"fair_share\":" + ConfigJson.tree(fair).get("fair_share") + "}");
            out.flush();
            Run with = measure("fair share, chat interactive", workers);
            out.print(table(without, with));
            out.printf(Locale.ROOT, "  the provider saw at most %d, then %d requests in any 1 s (its limit: 10) and "
                    + "%d, then %d at once (its limit: 4)%n", without.providerMaxPerSecond(),
                    with.providerMaxPerSecond(), without.providerMaxAtOnce(), with.providerMaxAtOnce());
            out.println(verdict(without, with));
            out.flush();
            ObjectNode o = CliSupport.JSON.createObjectNode();
            o.put("target", TARGET.toString()).put("limits", LIMITS).put("batch_workers", BATCH_WORKERS)
                    .put("chat_seconds", CHAT_TIME.toSeconds());
            o.set("without_fair_share", without.toJson());
            o.set("with_fair_share", with.toJson());
            return o;
        } finally {
            for (LlmLimiter w : workers) {
                w.close();
            }
        }
    }

    private Run measure(String name, List<LlmLimiter> workers) throws InterruptedException {
        MockProvider p = env.provider();
        p.resetCounters();
        ChatClient chat = seed.chat(TARGET);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong batchSeq = new AtomicLong();
        AtomicLong batchCounted = new AtomicLong();
        AtomicLong chatCounted = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        CountDownLatch flooding = new CountDownLatch(BATCH_WORKERS);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < workers.size(); w++) {
            LlmLimiter client = workers.get(w);
            Thread th = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        client.execute(TARGET, BATCH, SeedDemos.ESTIMATE, ctx -> {
                            batchSeq.incrementAndGet();
                            if (!stop.get()) {
                                batchCounted.incrementAndGet();
                            }
                            flooding.countDown();
                            return SeedDemos.send(chat, ctx);
                        });
                    } catch (LimiterException e) {
                        failed.incrementAndGet();
                        return;
                    }
                }
            }, "demo-batch-" + w);
            th.start();
            threads.add(th);
        }
        List<Double> waits = new ArrayList<>();
        List<Long> ahead = new ArrayList<>();
        try {
            // Chat starts once the flood has had as many calls as it has workers: its line is full by then.
            flooding.await(FLOOD_START.toMillis(), TimeUnit.MILLISECONDS);
            long end = System.nanoTime() + CHAT_TIME.toNanos();
            while (System.nanoTime() < end) {
                long before = batchSeq.get();
                long start = System.nanoTime();
                long[] admitted = new long[2];
                try {
                    env.limiter().execute(TARGET, CHAT, SeedDemos.ESTIMATE, ctx -> {
                        chatCounted.incrementAndGet();
                        if (ctx.attempt() == 1) {
                            admitted[0] = System.nanoTime();
                            admitted[1] = batchSeq.get();
                        }
                        return SeedDemos.send(chat, ctx);
                    });
                    waits.add((admitted[0] - start) / 1e9);
                    ahead.add(admitted[1] - before);
                } catch (LimiterException e) {
                    failed.incrementAndGet();
                }
                Thread.sleep(READING.toMillis());
            }
        } finally {
            stop.set(true);
            for (Thread th : threads) {
                th.join();
            }
        }
        return new Run(name, batchCounted.get(), chatCounted.get(), failed.get(), waits, ahead,
                p.rateLimitedCount(), p.maxRequestsInAnyWindow(Duration.ofSeconds(1)), p.maxConcurrencyObserved());
    }

    /**
     * @param without the run without fair share
     * @param with the run with fair share
     * @return the table, one line per run
     */
    static String table(Run without, Run with) {
        String format = "  %-36s %11s %10s %10s %13s %13s %11s %13s%n";
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, format, "run", "batch calls", "chat calls", "chat share",
                "chat wait p50", "chat wait max", "batch ahead", "provider 429s"));
        for (Run r : List.of(without, with)) {
            b.append(String.format(Locale.ROOT, format, r.name(), r.batchAdmitted(), r.chatAdmitted(),
                    percent(r.chatShare()), millis(r.waitP50()), millis(r.waitMax()), r.aheadP50(), r.provider429()));
        }
        return b.toString();
    }

    /** The table said in words, from its numbers. */
    static String verdict(Run without, Run with) {
        String waits = String.format(Locale.ROOT, "chat's calls waited %s (p50, max %s) without fair share and %s "
                + "(p50, max %s) with it", millis(without.waitP50()), millis(without.waitMax()), millis(with.waitP50()),
                millis(with.waitMax()));
        String s = with.waitP50() < without.waitP50() && with.aheadP50() < without.aheadP50()
                ? "The interactive calls no longer queue behind the flood: " + waits
                : "Chat's wait did not improve on this run: " + waits;
        s += String.format(Locale.ROOT, "; %s kept %s of the calls, with %d provider 429s in all.", BATCH.name(),
                percent(with.batchShare()), without.provider429() + with.provider429());
        long failures = without.failed() + with.failed();
        return failures > 0 ? s + " " + failures + (failures == 1 ? " call" : " calls") + " failed." : s;
    }

    private static <T extends Comparable<T>> T median(List<T> values) {
        List<T> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get((sorted.size() - 1) / 2);
    }

    private static String percent(double share) {
        return String.format(Locale.ROOT, "%.0f%%", share * 100);
    }

    private static String millis(double seconds) {
        return Double.isNaN(seconds) ? "-" : String.format(Locale.ROOT, "%.0f ms", seconds * 1000);
    }
}
