package io.llmlimiter.client.internal;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.scripts.LuaScript;
import java.util.List;

/** Calls the scripts directly with an explicit clock, so their arithmetic can be checked exactly. */
final class ScriptHarness implements AutoCloseable {

    final RedisClient client;
    final StatefulRedisConnection<String, String> connection;
    final ScriptRunner runner;
    final Target target;
    final Keys keys;

    ScriptHarness(String uri, Target target) {
        this.client = RedisClient.create(uri);
        this.connection = client.connect(StringCodec.UTF8);
        this.runner = new ScriptRunner(connection.async());
        this.target = target;
        this.keys = Keys.of(target);
    }

    RedisCommands<String, String> redis() {
        return connection.sync();
    }

    /** Every entry the target's request log keeps, oldest first. */
    List<io.llmlimiter.scripts.RequestLog.Entry> log() {
        return io.llmlimiter.testing.RequestLogs.read(client, target.toString());
    }

    void config(String limits, int maxConcurrent, long leaseTtlMs, String accounting) {
        config(limits, maxConcurrent, leaseTtlMs, accounting, 0);
    }

    void config(String limits, int maxConcurrent, long leaseTtlMs, String accounting, long marginMs) {
        LimitConfig c = LimitConfig.builder(target).limits(limits).maxConcurrent(maxConcurrent)
                .leaseTtl(java.time.Duration.ofMillis(leaseTtlMs))
                .accounting(io.llmlimiter.client.Accounting.fromLabel(accounting)).build();
        StringBuilder spec = new StringBuilder();
        c.limits().forEach(l -> spec.append(spec.length() == 0 ? "" : ",").append(l.resource().code()).append(':')
                .append(l.amount()).append(':').append(l.window().toMillis()));
        runner.run(LuaScript.SET_CONFIG, ScriptOutputType.INTEGER, keys, "put", spec.toString(),
                Integer.toString(maxConcurrent), Long.toString(leaseTtlMs), accounting, c.toJson(), keys.channel(),
                Long.toString(marginMs)).join();
    }

    /** Writes a config as the client does (fair share included). */
    void config(LimitConfig c) {
        StringBuilder spec = new StringBuilder();
        c.limits().forEach(l -> spec.append(spec.length() == 0 ? "" : ",").append(l.resource().code()).append(':')
                .append(l.amount()).append(':').append(l.window().toMillis()));
        List<String> args = new java.util.ArrayList<>(List.of("put", spec.toString(), Integer.toString(c.maxConcurrent()),
                Long.toString(c.leaseTtl().toMillis()), c.accounting().label(), c.toJson(), keys.channel(),
                Long.toString(c.deliveryMargin().toMillis()), ConfigJson.scriptBudgets(c)));
        args.addAll(ConfigJson.fairShareArgs(c));
        runner.run(LuaScript.SET_CONFIG, ScriptOutputType.INTEGER, keys, args.toArray(String[]::new)).join();
    }

    /** A blocking or try acquire of a tenant and class at {@code nowMs}. */
    List<Object> acquireAs(String id, long tokens, long nowMs, boolean ticket, String tenant, String priority) {
        return acquireAs(id, tokens, 0, nowMs, ticket, tenant, priority);
    }

    /** As {@link #acquireAs(String, long, long, boolean, String, String)}, with an estimated cost in micro-dollars. */
    List<Object> acquireAs(String id, long tokens, long costMicros, long nowMs, boolean ticket, String tenant,
                           String priority) {
        return runner.<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, keys, id, Long.toString(tokens),
                Long.toString(tokens), Long.toString(tokens), Long.toString(nowMs * 1000), ticket ? "1" : "0", "3000",
                keys.channel(), "0", Long.toString(costMicros), tenant, priority).join();
    }

    /** Acquire at {@code nowMs} (milliseconds on the test's own clock). */
    List<Object> acquire(String id, long tokens, long input, long output, long nowMs, boolean ticket) {
        return acquire(id, tokens, input, output, nowMs, ticket, 3000);
    }

    List<Object> acquire(String id, long tokens, long input, long output, long nowMs, boolean ticket, long ticketTtlMs) {
        return runner.<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, keys, id, Long.toString(tokens),
                Long.toString(input), Long.toString(output), Long.toString(nowMs * 1000), ticket ? "1" : "0",
                Long.toString(ticketTtlMs), keys.channel()).join();
    }

    /**
     * A batch acquire: the head (a blocking one when {@code ticket}) and the further requests queued
     * behind it, each given as {@code "id:tokens:input:output"}.
     */
    List<Object> acquireBatch(long nowMs, boolean ticket, String... requests) {
        List<String> args = new java.util.ArrayList<>();
        for (int j = 0; j < requests.length; j++) {
            args.addAll(List.of(requests[j].split(":")));
            if (j == 0) {
                args.addAll(List.of(Long.toString(nowMs * 1000), ticket ? "1" : "0", "3000", keys.channel(),
                        Integer.toString(requests.length - 1)));
            }
        }
        return runner.<List<Object>>run(LuaScript.ACQUIRE, ScriptOutputType.MULTI, keys, args.toArray(String[]::new))
                .join();
    }

    /** One completion of a batch: the ten values {@code complete.lua} takes per request. */
    static List<String> completion(String id, boolean hasUsage, long input, long output, long admittedUs, long tokens,
                                   long in, long out, boolean resend) {
        return List.of(id, hasUsage ? "1" : "0", Long.toString(input), Long.toString(output), "0",
                admittedUs < 0 ? "" : Long.toString(admittedUs), Long.toString(tokens), Long.toString(in),
                Long.toString(out), resend ? "1" : "0");
    }

    List<Object> completeBatch(long nowMs, List<List<String>> completions) {
        List<String> args = new java.util.ArrayList<>(List.of("batch", Long.toString(nowMs * 1000), keys.channel(),
                Integer.toString(completions.size())));
        completions.forEach(args::addAll);
        return runner.<List<Object>>run(LuaScript.COMPLETE, ScriptOutputType.MULTI, keys, args.toArray(String[]::new))
                .join();
    }

    List<Object> acquire(String id, long tokens, long nowMs) {
        return acquire(id, tokens, tokens, tokens, nowMs, false);
    }

    List<Object> complete(String id, long input, long output, long nowMs) {
        return runner.<List<Object>>run(LuaScript.COMPLETE, ScriptOutputType.MULTI, keys, id, "1", Long.toString(input),
                Long.toString(output), "0", Long.toString(nowMs * 1000), keys.channel()).join();
    }

    /** A completion that carries the permit's admission time and charge (it works without the lease). */
    List<Object> complete(String id, long input, long output, long nowMs, long admittedUs, long tokens, long in,
                          long out, boolean resend) {
        return runner.<List<Object>>run(LuaScript.COMPLETE, ScriptOutputType.MULTI, keys, id, "1", Long.toString(input),
                Long.toString(output), "0", Long.toString(nowMs * 1000), keys.channel(), resend ? "1" : "0",
                Long.toString(admittedUs), Long.toString(tokens), Long.toString(in), Long.toString(out)).join();
    }

    List<Object> learn429(long admittedUs, long nowMs) {
        return runner.<List<Object>>run(LuaScript.LEARN, ScriptOutputType.MULTI, keys, "429", Long.toString(admittedUs),
                Long.toString(nowMs * 1000)).join();
    }

    List<Object> learnHeaders(String resource, long amount, long windowMs, long nowMs) {
        return runner.<List<Object>>run(LuaScript.LEARN, ScriptOutputType.MULTI, keys, "headers", resource,
                Long.toString(amount), Long.toString(windowMs), Long.toString(nowMs * 1000)).join();
    }

    long cancel(String id, long nowMs) {
        return runner.<Long>run(LuaScript.CANCEL, ScriptOutputType.INTEGER, keys, id, keys.channel(),
                Long.toString(nowMs * 1000)).join();
    }

    List<Object> release(String id, long nowMs) {
        return runner.<List<Object>>run(LuaScript.COMPLETE, ScriptOutputType.MULTI, keys, id, "0", "0", "0", "0",
                Long.toString(nowMs * 1000), keys.channel()).join();
    }

    long renew(String id, long nowMs) {
        return runner.<Long>run(LuaScript.RENEW, ScriptOutputType.INTEGER, keys, id, Long.toString(nowMs * 1000)).join();
    }

    List<Object> usage(long nowMs) {
        return runner.<List<Object>>run(LuaScript.USAGE, ScriptOutputType.MULTI, keys, Long.toString(nowMs * 1000)).join();
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown();
    }
}
