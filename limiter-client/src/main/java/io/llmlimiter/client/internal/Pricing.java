package io.llmlimiter.client.internal;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.ModelPrice;
import io.llmlimiter.client.PriceTable;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prices calls for one client: a target's config override first, else the client's price table
 * (swapped whole, never edited). A model nobody prices costs nothing and is said once per target
 * at WARN. This class is thread-safe.
 */
public final class Pricing {

    private static final Logger log = LoggerFactory.getLogger(Pricing.class);

    /** Null until first used: the bundled table is parsed only by a client that prices a call. */
    private final AtomicReference<PriceTable> table;
    private final Set<Target> warned = ConcurrentHashMap.newKeySet();
    private final Map<Target, ModelPrice> found = new ConcurrentHashMap<>();
    private final AtomicReference<CompletableFuture<Void>> loading = new AtomicReference<>();
    private static final CompletableFuture<Void> LOADED = CompletableFuture.completedFuture(null);

    /** @param table the first table, or null for the bundled one, loaded when first needed */
    public Pricing(PriceTable table) {
        this.table = new AtomicReference<>(table);
    }

    /**
     * Completed once a table is in memory. The first call starts reading the bundled table on a
     * thread of its own: it reads the jar, which never happens on a caller's or an event-loop
     * thread.
     *
     * @return a future completed when {@link #table()} no longer reads anything
     */
    public CompletableFuture<Void> ready() {
        if (table.get() != null) {
            return LOADED;
        }
        CompletableFuture<Void> f = loading.get();
        if (f != null) {
            return f;
        }
        CompletableFuture<Void> mine = new CompletableFuture<>();
        if (!loading.compareAndSet(null, mine)) {
            return loading.get();
        }
        Thread loader = new Thread(() -> {
            try {
                table();
                mine.complete(null);
            } catch (Throwable e) {
                // Then table() reads again where it is next needed, and fails there too.
                loading.set(null);
                mine.completeExceptionally(e);
            }
        }, "llmlim-prices");
        loader.setDaemon(true);
        loader.start();
        return mine;
    }

    /** @return the table in use (read from the jar first when none is loaded yet: see {@link #ready()}) */
    public PriceTable table() {
        PriceTable t = table.get();
        if (t == null) {
            table.compareAndSet(null, PriceTable.bundled());
            t = table.get();
        }
        return t;
    }

    /**
     * Replaces the table whole: every call priced after this sees only the new one.
     *
     * @param next the new table
     */
    public void table(PriceTable next) {
        table.set(java.util.Objects.requireNonNull(next, "prices must not be null"));
        found.clear();
        warned.clear();
    }

    /**
     * @param target the target
     * @param config its config as known, or null
     * @return the price, or null when neither the config nor the table knows the model
     */
    public ModelPrice price(Target target, LimitConfig config) {
        if (config != null && config.prices() != null) {
            return config.prices();
        }
        ModelPrice p = found.computeIfAbsent(target, t -> table().find(t).orElse(ModelPrice.FREE));
        if (p == ModelPrice.FREE) {
            if (warned.add(target)) {
                log.warn("{}: the price table does not know this model; its calls count no cost (give the target "
                        + "\"prices\" in its config, or load a newer table)", target);
            }
            return null;
        }
        return p;
    }

    /**
     * Priced whether or not the config as known has budgets: a budget added a moment ago applies
     * before this client has read it.
     *
     * @return the estimate's most cost, in micro-dollars (0 when unpriced)
     */
    public long estimate(Target target, LimitConfig config, Estimate estimate) {
        ModelPrice p = price(target, config);
        return p == null ? 0 : p.microUsd(estimate);
    }

    /**
     * The actual cost of a call. Anthropic reports cache reads apart from its input tokens; the
     * others count them in.
     *
     * @return micro-dollars (0 when unpriced)
     */
    public long actual(Target target, LimitConfig config, Usage usage) {
        ModelPrice p = price(target, config);
        if (p == null) {
            return 0;
        }
        return p.microUsd(uncachedInput(target, usage), usage.cacheReadTokens(), usage.cacheWriteTokens(),
                usage.outputTokens());
    }

    /**
     * @param target the target (its provider says how cache reads are reported)
     * @param usage a call's usage
     * @return its input tokens neither read from nor written to the provider's cache
     */
    public static long uncachedInput(Target target, Usage usage) {
        long reads = "anthropic".equals(target.provider()) ? 0 : usage.cacheReadTokens();
        return Math.max(0, usage.inputTokens() - reads - usage.cacheWriteTokens());
    }
}
