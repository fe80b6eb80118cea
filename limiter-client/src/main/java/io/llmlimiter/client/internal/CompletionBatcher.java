package io.llmlimiter.client.internal;

import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import io.llmlimiter.scripts.LuaScript;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Completions that must reach Redis (a lease to free, {@code actual} accounting, usage above the
 * estimate), sent per target in batches ({@code complete.lua}'s batch form, up to
 * {@link #MAX_BATCH} per call): one call per target is on its way at a time, and the completions
 * that arrive meanwhile go together in the next. Nobody waits for a send; a completion whose
 * batch failed is sent again (as a resend, which never counts twice) after a pause, and after
 * {@link RedisLimiter#BACKGROUND_TRIES} sends its future fails (the permit then logs it at WARN
 * and meters it as lost). This class is thread-safe.
 */
final class CompletionBatcher {

    static final int MAX_BATCH = 256;

    private final RedisLimiter limiter;
    private final Map<Target, Line> lines = new ConcurrentHashMap<>();

    CompletionBatcher(RedisLimiter limiter) {
        this.limiter = limiter;
    }

    /**
     * One completion.
     *
     * @param id the request id
     * @param usage the actual usage, or null to keep the admission charge
     * @param admittedMicros the admission time
     * @param estimate the admission charge
     * @param sends how many times it was sent before (a resend never counts twice)
     * @param reply completes with { released, charged tokens, input, output, earlier sends }, or fails when the
     *     sends are spent
     */
    record Item(String id, Usage usage, long admittedMicros, Estimate estimate, long reservedMicros, long actualMicros,
                int sends, CompletableFuture<long[]> reply) {
        Item next() {
            return new Item(id, usage, admittedMicros, estimate, reservedMicros, actualMicros, sends + 1, reply);
        }
    }

    /** One target's completions waiting to be sent. Guarded by its own monitor. */
    private static final class Line {
        final ArrayDeque<Item> waiting = new ArrayDeque<>();
        boolean sending;
    }

    /** @return completes with the script's answer for this completion */
    CompletableFuture<long[]> complete(Target target, String id, Usage usage, long admittedMicros, Estimate estimate) {
        return complete(target, id, usage, admittedMicros, estimate, 0, -1);
    }

    /**
     * @param reservedMicros the cost reserved at admission, in micro-dollars
     * @param actualMicros the actual cost, or -1 when unknown (the reservation stands)
     * @return completes with the script's answer for this completion
     */
    CompletableFuture<long[]> complete(Target target, String id, Usage usage, long admittedMicros, Estimate estimate,
                                       long reservedMicros, long actualMicros) {
        Item item = new Item(id, usage, admittedMicros, estimate, reservedMicros, actualMicros, 0,
                new CompletableFuture<>());
        submit(target, item);
        return item.reply();
    }

    private void submit(Target target, Item item) {
        Line line = lines.computeIfAbsent(target, t -> new Line());
        synchronized (line) {
            line.waiting.addLast(item);
            if (line.sending) {
                return;
            }
            line.sending = true;
        }
        send(target, line);
    }

    private void send(Target target, Line line) {
        List<Item> batch = new ArrayList<>();
        synchronized (line) {
            while (batch.size() < MAX_BATCH && !line.waiting.isEmpty()) {
                batch.add(line.waiting.pollFirst());
            }
            if (batch.isEmpty()) {
                line.sending = false;
                return;
            }
        }
        Keys keys = Keys.of(target);
        String[] args = new String[4 + 12 * batch.size()];
        args[0] = "batch";
        args[1] = "";
        args[2] = keys.channel();
        args[3] = Integer.toString(batch.size());
        int a = 4;
        for (Item it : batch) {
            Usage u = it.usage() == null ? Usage.of(0, 0) : it.usage();
            args[a++] = it.id();
            args[a++] = it.usage() == null ? "0" : "1";
            args[a++] = Long.toString(u.inputTokens());
            args[a++] = Long.toString(u.outputTokens());
            args[a++] = Long.toString(Math.max(0, u.cacheReadTokens()));
            args[a++] = Long.toString(it.admittedMicros());
            args[a++] = Long.toString(it.estimate().tokens());
            args[a++] = Long.toString(it.estimate().inputTokens());
            args[a++] = Long.toString(it.estimate().outputTokens());
            args[a++] = it.sends() > 0 ? "1" : "0";
        }
        // After the groups, the reserved and the actual cost of each (see complete.lua).
        for (Item it : batch) {
            args[a++] = Long.toString(it.reservedMicros());
            args[a++] = it.actualMicros() < 0 ? "" : Long.toString(it.actualMicros());
        }
        limiter.scripts().<List<Object>>run(LuaScript.COMPLETE, ScriptOutputType.MULTI, keys, args)
                .whenComplete((reply, e) -> {
                    if (e == null) {
                        for (int i = 0; i < batch.size(); i++) {
                            long[] group = new long[5];
                            group[4] = batch.get(i).sends();
                            for (int j = 0; j < 4 && 4 * i + j < reply.size(); j++) {
                                group[j] = (Long) reply.get(4 * i + j);
                            }
                            batch.get(i).reply().complete(group);
                        }
                    } else {
                        for (Item it : batch) {
                            retry(target, it.next(), e);
                        }
                    }
                    send(target, line);
                });
    }

    private void retry(Target target, Item item, Throwable error) {
        if (item.sends() >= RedisLimiter.BACKGROUND_TRIES
                || limiter.schedule(() -> submit(target, item), 200L * item.sends(), TimeUnit.MILLISECONDS) == null) {
            item.reply().completeExceptionally(error);
        }
    }
}
