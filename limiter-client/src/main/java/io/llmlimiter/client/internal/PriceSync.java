package io.llmlimiter.client.internal;

import io.llmlimiter.client.PriceTable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a client's price table in step with the one the admin server holds in Redis
 * ({@link #KEY}: {@code json}, {@code sha}, {@code updated_ms}), checked every
 * {@link #EVERY_SECONDS} s by its digest alone. A table that does not parse is never used (the
 * table in use stays, said once at WARN); a good one replaces it whole. Checks run one at a time,
 * so the table in use never goes back to an older one. Parsing runs on the limiter's callback
 * executor, never on a Redis thread. This class is thread-safe.
 */
public final class PriceSync {

    /** The hash holding the fleet's price table. */
    public static final String KEY = Keys.PREFIX + "{" + Keys.DEFAULT_TAG + "}:prices";
    static final long EVERY_SECONDS = 30;

    private static final Logger log = LoggerFactory.getLogger(PriceSync.class);

    private final RedisLimiter limiter;
    private volatile String applied = "";
    private volatile String refused = "";
    /** The latest check asked for; guarded by this. */
    private CompletableFuture<Void> last = CompletableFuture.completedFuture(null);

    PriceSync(RedisLimiter limiter) {
        this.limiter = limiter;
    }

    void start() {
        try {
            limiter.timer().scheduleWithFixedDelay(this::check, 0, EVERY_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Closed before it started: nothing to keep in step.
        }
    }

    /**
     * Checks run one after another: a check that read a table before another was put never
     * applies it after a later check applied the newer one.
     *
     * @return completes when the table in Redis was compared (and, if new, applied or refused)
     */
    public CompletableFuture<Void> check() {
        CompletableFuture<Void> next = new CompletableFuture<>();
        CompletableFuture<Void> before;
        synchronized (this) {
            before = last;
            last = next;
        }
        before.whenComplete((v, e) -> compare().whenComplete((v2, e2) -> next.complete(null)));
        return next;
    }

    private CompletableFuture<Void> compare() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            limiter.scripts().commands().hget(KEY, "sha").whenComplete((sha, e) -> {
                if (e != null || sha == null || sha.equals(applied) || sha.equals(refused)) {
                    done.complete(null);
                    return;
                }
                limiter.scripts().commands().hget(KEY, "json").whenComplete((json, e2) -> {
                    if (e2 != null || json == null) {
                        done.complete(null);
                        return;
                    }
                    limiter.callbacks().dispatch(() -> {
                        apply(json);
                        done.complete(null);
                    });
                });
            });
        } catch (RuntimeException e) {
            done.complete(null);
        }
        return done;
    }

    private void apply(String json) {
        String sha = sha1(json);
        try {
            PriceTable t = PriceTable.parse(json);
            limiter.pricing().table(t);
            applied = sha;
            log.info("price table {} loaded from Redis: {}", sha.substring(0, 12), t);
        } catch (IllegalArgumentException e) {
            if (!sha.equals(refused)) {
                log.warn("price table {} in Redis was refused, the previous one stays: {}", sha.substring(0, 12),
                        e.getMessage());
            }
            refused = sha;
        }
    }

    /**
     * @param text a table's text
     * @return its SHA-1, hex, as stored beside it
     */
    public static String sha1(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
