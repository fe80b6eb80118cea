package io.llmlimiter.client;

import java.util.Arrays;

/** What a limit counts. This enum is thread-safe. */
public enum Resource {
    /** Calls, one per admitted request. */
    REQUESTS("requests", "r"),
    /** Input plus output tokens. */
    TOKENS("tokens", "t"),
    /** Input (prompt) tokens. */
    INPUT_TOKENS("input_tokens", "i"),
    /** Output (completion) tokens. */
    OUTPUT_TOKENS("output_tokens", "o");

    private final String label;
    private final String code;

    Resource(String label, String code) {
        this.label = label;
        this.code = code;
    }

    /** @return the name used in configs and the compact text form, e.g. {@code input_tokens} */
    public String label() {
        return label;
    }

    /** @return the one-letter code the Lua scripts use */
    public String code() {
        return code;
    }

    /**
     * @param label a name such as {@code tokens}
     * @return the resource
     * @throws IllegalArgumentException listing the known names
     */
    public static Resource fromLabel(String label) {
        for (Resource r : values()) {
            if (r.label.equals(label)) {
                return r;
            }
        }
        throw new IllegalArgumentException("resource must be one of "
                + Arrays.stream(values()).map(Resource::label).toList() + ", got '" + label + "'");
    }

    /**
     * @param code a one-letter script code
     * @return the resource
     */
    public static Resource fromCode(String code) {
        for (Resource r : values()) {
            if (r.code.equals(code)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown resource code '" + code + "'");
    }
}
