package io.llmlimiter.client;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a budget is kept for: one model of one provider, written {@code provider/model}
 * (e.g. {@code openai/gpt-4o}). The provider is the first segment; the model may hold further
 * {@code /}-separated segments, as routers name theirs: {@code openrouter/openai/gpt-4o} is provider
 * {@code openrouter}, model {@code openai/gpt-4o}.
 *
 * <p>Names are restricted to letters, digits and {@code . _ - :} (and {@code /} between the model's
 * segments, each starting with a letter or digit) so that a target can never escape its Redis keys
 * or an admin URL path. This class is immutable and thread-safe.
 *
 * @param provider the provider, e.g. {@code openai}
 * @param model the model, e.g. {@code gpt-4o} or {@code meta-llama/Llama-3.3-70B-Instruct-Turbo}
 */
public record Target(String provider, String model) {

    private static final Pattern PROVIDER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");
    private static final Pattern MODEL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]*(/[A-Za-z0-9][A-Za-z0-9._:-]*)*");
    private static final int MAX_MODEL_LENGTH = 200;

    /** Validates both names. */
    public Target {
        if (provider == null || !PROVIDER.matcher(provider).matches() || provider.contains("..")) {
            throw new IllegalArgumentException("provider must be 1-128 characters of letters, digits and . _ - : "
                    + "starting with a letter or digit, got '" + provider + "'");
        }
        if (model == null || model.length() > MAX_MODEL_LENGTH || !MODEL.matcher(model).matches()
                || model.contains("..")) {
            throw new IllegalArgumentException("model must be 1-" + MAX_MODEL_LENGTH + " characters of letters, "
                    + "digits and . _ - : in segments separated by /, each starting with a letter or digit, got '"
                    + model + "'");
        }
    }

    /**
     * Parses {@code provider/model}; everything after the first {@code /} is the model.
     *
     * @param text the target as text, e.g. {@code openai/gpt-4o} or {@code openrouter/openai/gpt-4o}
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
}
