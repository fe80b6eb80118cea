package io.llmlimiter.client.internal;

import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Wakes waiting callers when the scripts say it is their turn. One pub/sub connection per
 * process; each target's channel is subscribed on its first wait. A message names the request
 * id now at the head of the line, or {@code *} for everyone (a config change). This class is
 * thread-safe.
 */
final class WakeHub {

    private final CompletableFuture<StatefulRedisPubSubConnection<String, String>> connection;
    private final Map<String, CompletableFuture<Void>> subscriptions = new ConcurrentHashMap<>();
    private final Map<String, Map<String, CompletableFuture<Void>>> waiters = new ConcurrentHashMap<>();
    /**
     * Per channel, the last {@link #EARLY} request ids woken while nobody here waited for them: a
     * ticket taken for a waiter by another call's script (see {@link AcquireCall}) can be woken
     * before its waiter registers. Guarded by itself.
     */
    private final Map<String, Set<String>> early = new ConcurrentHashMap<>();
    static final int EARLY = 256;

    /**
     * @param connection completes with the pub/sub connection once it is open (at once, unless
     *     Redis was unreachable when the limiter was built)
     */
    WakeHub(CompletableFuture<StatefulRedisPubSubConnection<String, String>> connection) {
        // The listener is added before any subscription is sent on the connection.
        this.connection = connection.thenApply(c -> {
            c.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    wake(channel, message);
                }
            });
            return c;
        });
    }

    /** @return completes once the channel is subscribed */
    CompletableFuture<Void> subscribe(String channel) {
        CompletableFuture<Void> f = subscriptions.computeIfAbsent(channel, c -> connection.thenCompose(conn ->
                conn.async().subscribe(c).toCompletableFuture()));
        // Outside computeIfAbsent: a subscribe rejected at once (Redis away) must not update the map
        // from inside its own computation.
        f.whenComplete((ok, e) -> {
            if (e != null) {
                subscriptions.remove(channel, f);
            }
        });
        return f;
    }

    /** @return whether the channel is subscribed already */
    boolean subscribed(String channel) {
        CompletableFuture<Void> f = subscriptions.get(channel);
        return f != null && f.isDone() && !f.isCompletedExceptionally();
    }

    /**
     * Registers a waiter before its script call, so a wake-up that races the reply is not lost.
     *
     * @return completes when the request is woken
     */
    CompletableFuture<Void> register(String channel, String requestId) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        Set<String> woken = earlyOf(channel);
        boolean wokenAlready;
        synchronized (woken) {
            waiters.computeIfAbsent(channel, c -> new ConcurrentHashMap<>()).put(requestId, f);
            wokenAlready = woken.remove(requestId);
        }
        if (wokenAlready) {
            f.complete(null);
        }
        return f;
    }

    private Set<String> earlyOf(String channel) {
        return early.computeIfAbsent(channel, c -> Collections.newSetFromMap(new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > EARLY;
            }
        }));
    }

    void unregister(String channel, String requestId) {
        Map<String, CompletableFuture<Void>> m = waiters.get(channel);
        if (m != null) {
            m.remove(requestId);
        }
    }

    private void wake(String channel, String message) {
        Map<String, CompletableFuture<Void>> m = waiters.get(channel);
        if (m == null) {
            return;
        }
        if ("*".equals(message)) {
            m.values().forEach(f -> f.complete(null));
        } else {
            CompletableFuture<Void> f;
            Set<String> woken = earlyOf(channel);
            synchronized (woken) {
                f = m.get(message);
                if (f == null) {
                    woken.add(message);
                }
            }
            if (f != null) {
                f.complete(null);
            }
        }
    }
}
