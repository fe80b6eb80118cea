package io.llmlimiter.client.retry;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Cause-chain traversal shared by extractors and classifiers.
 *
 * <p>Stateless and thread-safe.
 */
final class Causes {

    /** Bound on chain length; real chains are short, a bound protects against pathological ones. */
    private static final int MAX_DEPTH = 32;

    private Causes() {
    }

    /** The throwable followed by its causes, outermost first, without repeats (cycle-safe). */
    static List<Throwable> chain(Throwable throwable) {
        List<Throwable> chain = new ArrayList<>();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = throwable; t != null && chain.size() < MAX_DEPTH && seen.add(t); t = t.getCause()) {
            chain.add(t);
        }
        return chain;
    }
}
