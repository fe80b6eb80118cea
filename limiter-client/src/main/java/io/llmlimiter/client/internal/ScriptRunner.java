package io.llmlimiter.client.internal;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.llmlimiter.scripts.LuaScript;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Runs the limiter's scripts by {@code EVALSHA}, falling back to {@code EVAL} exactly once when
 * Redis has lost its script cache (restart, failover, {@code SCRIPT FLUSH}); the {@code EVAL}
 * loads the script again for the next call. This class is thread-safe.
 */
public final class ScriptRunner {

    private final RedisClusterAsyncCommands<String, String> commands;

    /**
     * @param commands the connection's async commands (standalone or cluster)
     */
    public ScriptRunner(RedisClusterAsyncCommands<String, String> commands) {
        this.commands = commands;
    }

    /**
     * @param script the script
     * @param type the reply type
     * @param keys the target's keys
     * @param args the script's ARGV
     * @param <T> the reply's Java type
     * @return the reply; never throws, a command that cannot even be sent (closed connection) fails
     *     the future
     */
    public <T> CompletableFuture<T> run(LuaScript script, ScriptOutputType type, Keys keys, String... args) {
        CompletableFuture<T> first;
        try {
            first = commands.<T>evalsha(script.sha1(), type, keys.keys(), args).toCompletableFuture();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        return first.exceptionallyCompose(e -> {
            if (unwrap(e) instanceof RedisNoScriptException) {
                return commands.<T>eval(script.source(), type, keys.keys(), args).toCompletableFuture();
            }
            return CompletableFuture.failedFuture(unwrap(e));
        });
    }

    /** @return the async commands this runner uses */
    public RedisClusterAsyncCommands<String, String> commands() {
        return commands;
    }

    static Throwable unwrap(Throwable e) {
        while (e instanceof CompletionException && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }
}
