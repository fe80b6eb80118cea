package io.llmlimiter.client.retry;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Helpers for case-insensitive, immutable header multimaps.
 *
 * <p>Stateless and thread-safe.
 */
final class HeaderMaps {

    private HeaderMaps() {
    }

    /**
     * Copies headers into an unmodifiable map whose lookups ignore ASCII case; values of names that
     * differ only by case are merged. Null names and values are dropped.
     */
    static Map<String, List<String>> copyOf(Map<String, ? extends Collection<String>> headers) {
        if (headers == null || headers.isEmpty()) {
            return Collections.unmodifiableMap(new TreeMap<>(String.CASE_INSENSITIVE_ORDER));
        }
        Map<String, List<String>> merged = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        headers.forEach((name, values) -> {
            if (name == null || values == null) {
                return;
            }
            List<String> target = merged.computeIfAbsent(name, n -> new ArrayList<>());
            for (String value : values) {
                if (value != null) {
                    target.add(value);
                }
            }
        });
        merged.replaceAll((name, values) -> List.copyOf(values));
        return Collections.unmodifiableMap(merged);
    }

    /** The first value of a header, trimmed, if present and non-blank. */
    static Optional<String> first(Map<String, List<String>> headers, String name) {
        List<String> values = headers.get(name);
        if (values == null || values.isEmpty()) {
            return Optional.empty();
        }
        String value = values.get(0).trim();
        return value.isEmpty() ? Optional.empty() : Optional.of(value);
    }
}
