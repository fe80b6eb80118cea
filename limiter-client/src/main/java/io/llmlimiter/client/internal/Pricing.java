package io.llmlimiter.client.internal;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.ModelPrice;
import io.llmlimiter.client.PriceTable;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import java.util.Map;
import java.util.Set;
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

    private final AtomicReference<PriceTable> table;
    private final Set<Target> warned = ConcurrentHashMap.newKeySet();
    private final Map<Target, ModelPrice> found = new ConcurrentHashMap<>();

    /** @param table the first table */
    public Pricing(PriceTable table) {
        this.table = new AtomicReference<>(table);
    }

    /** @return the table in use */
    public PriceTable table() {
        return table.get();
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
        ModelPrice p = found.computeIfAbsent(target, t -> table.get().find(t).orElse(ModelPrice.FREE));
        if (p == ModelPrice.FREE) {
            if (warned.add(target)) {
                log.warn("{}: the price table does not know this model; its calls count no cost (give the target "
                        + "\"prices\" in its config, or load a newer table)", target);
            }
            return null;
        }
        return p;
    }

    /** @return the estimate's most cost, in micro-dollars (0 when unpriced) */
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
