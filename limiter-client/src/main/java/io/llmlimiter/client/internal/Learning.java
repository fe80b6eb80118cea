package io.llmlimiter.client.internal;

import io.lettuce.core.ScriptOutputType;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.Target;
import io.llmlimiter.scripts.LuaScript;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Tells Redis what the provider enforces, so the whole fleet's effective limits follow it
 * ({@code learn.lua} has the rule). Stateless and thread-safe.
 */
final class Learning {

    /**
     * A limit's effective amount after learning.
     *
     * @param limit the limit as configured
     * @param effective the amount admissions are checked against now
     * @param reason {@code ""} (configured), {@code "429"} or {@code "headers"}
     */
    record Effective(Limit limit, long effective, String reason) {
    }

    private Learning() {
    }

    /**
     * The provider refused, with a 429, a call the limiter admitted: shrinks the limit that was
     * binding at that admission (an echo of an earlier shrink changes nothing).
     *
     * @param admittedMicros the call's admission time in Redis microseconds, as its permit holds it
     */
    static CompletableFuture<List<Effective>> rateLimited(ScriptRunner scripts, Target target, long admittedMicros) {
        return run(scripts, target, "429", Long.toString(admittedMicros), "");
    }

    /**
     * The provider stated its limit (rate-limit headers): caps the target's limits of that
     * resource whose window is within 10% of {@code window} at {@code amount}.
     */
    static CompletableFuture<List<Effective>> providerLimit(ScriptRunner scripts, Target target, Resource resource,
                                                            long amount, Duration window) {
        return run(scripts, target, "headers", resource.code(), Long.toString(amount),
                Long.toString(window.toMillis()), "");
    }

    private static CompletableFuture<List<Effective>> run(ScriptRunner scripts, Target target, String... args) {
        return scripts.<List<Object>>run(LuaScript.LEARN, ScriptOutputType.MULTI, Keys.of(target), args)
                .thenApply(Learning::parse);
    }

    static List<Effective> parse(List<Object> reply) {
        List<Effective> out = new ArrayList<>();
        for (int i = 0; i + 2 < reply.size(); i += 3) {
            String[] p = ((String) reply.get(i)).split(":");
            Limit limit = new Limit(Resource.fromCode(p[0]), Long.parseLong(p[1]), Duration.ofMillis(Long.parseLong(p[2])));
            out.add(new Effective(limit, (Long) reply.get(i + 1), (String) reply.get(i + 2)));
        }
        return out;
    }
}
