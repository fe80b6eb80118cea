package io.llmlimiter.client;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a budget is kept for: one model of one provider, written {@code provider/model}
 * (e.g. {@code openai/gpt-4o}).
 *
 * <p>Names are restricted to letters, digits and {@code . _ - :} so that a target can never
 * escape its Redis keys or an admin URL path. This class is immutable and thread-safe.
 *
 * @param provider the provider, e.g. {@code openai}
 * @param model the model, e.g. {@code gpt-4o}
 */
public record Target(String provider, String model) {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");

    /** Validates both names. */
    public Target {
        check("provider", provider);
        check("model", model);
    }

    /**
     * Parses {@code provider/model}.
     *
     * @param text the target as text
     * @return the target
     * @throws IllegalArgumentException naming the bad part
     */
    public static Target parse(String text) {
        Objects.requireNonNull(text, "target must not be null");
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("target must be provider/model, got '" + text + "'");
        }
        return new Target(text.substring(0, slash), text.substring(slash + 1));
    }

    /** @return {@code provider/model} */
    @Override
    public String toString() {
        return provider + "/" + model;
    }

    private static void check(String field, String value) {
        if (value == null || !NAME.matcher(value).matches() || value.contains("..")) {
            throw new IllegalArgumentException(field + " must be 1-128 characters of letters, digits and . _ - : "
                    + "starting with a letter or digit, got '" + value + "'");
        }
    }
}
