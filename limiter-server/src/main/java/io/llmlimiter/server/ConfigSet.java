package io.llmlimiter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A set of configs in the shape of the config file, the export and the import: a JSON object keyed
 * by name whose values are configs (the seed's {@code data/llm_configs.json}, keyed by names like
 * {@code deepseek_chat}, reads as is), the reserved name {@value #DEFAULT_NAME} holding the config
 * unknown targets get. An import may also be a JSON list of configs. Names other than
 * {@value #DEFAULT_NAME} are labels only: the target is the config's {@code provider}/{@code model}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param defaultConfig the config for unknown targets, or null when the set has none
 * @param targets the configs by target, sorted by name
 */
public record ConfigSet(LimitConfig defaultConfig, Map<Target, LimitConfig> targets) {

    /** The name under which the default config is kept; no target name can start with {@code _}. */
    public static final String DEFAULT_NAME = "_default";
    /** The target name the client gives the default config. */
    public static final Target DEFAULT_TARGET = new Target("default", "default");
    /** The most configs one set may hold. */
    public static final int MAX_TARGETS = 10_000;

    private static final Comparator<Target> BY_NAME = Comparator.comparing(Target::toString);

    /** Copies the map, sorted by target name. */
    public ConfigSet {
        TreeMap<Target, LimitConfig> sorted = new TreeMap<>(BY_NAME);
        sorted.putAll(targets);
        targets = java.util.Collections.unmodifiableMap(sorted);
    }

    /** @return an empty set */
    public static ConfigSet empty() {
        return new ConfigSet(null, Map.of());
    }

    /**
     * Parses and validates every entry; nothing is half-read.
     *
     * @param root the JSON tree: an object keyed by name, or a list of configs
     * @return the set
     * @throws IllegalArgumentException naming the entry and field, e.g. {@code deepseek_chat: limits[0]: ...}
     */
    public static ConfigSet parse(JsonNode root) {
        LimitConfig def = null;
        Map<Target, LimitConfig> out = new LinkedHashMap<>();
        if (root != null && root.isArray()) {
            for (int i = 0; i < root.size(); i++) {
                add(out, "[" + i + "]", entry("[" + i + "]", root.get(i)));
            }
        } else if (root != null && root.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals(DEFAULT_NAME)) {
                    def = asDefault(e.getValue());
                } else {
                    add(out, e.getKey(), entry(e.getKey(), e.getValue()));
                }
            }
        } else {
            throw new IllegalArgumentException("configs must be a JSON object keyed by name (the config file's shape) "
                    + "or a list of configs");
        }
        if (out.size() > MAX_TARGETS) {
            throw new IllegalArgumentException("configs must hold at most " + MAX_TARGETS + " targets, got " + out.size());
        }
        return new ConfigSet(def, out);
    }

    /**
     * @param node a config's JSON, with or without provider and model
     * @return it as the default config (target {@code default/default})
     */
    public static LimitConfig asDefault(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(DEFAULT_NAME + ": must be a config object");
        }
        ObjectNode copy = ((ObjectNode) node).deepCopy();
        copy.put("provider", DEFAULT_TARGET.provider()).put("model", DEFAULT_TARGET.model());
        return prefixed(DEFAULT_NAME, copy);
    }

    /**
     * @param config a config
     * @return the same config named {@code default/default}, as the default config is stored
     */
    public static LimitConfig asDefault(LimitConfig config) {
        return ConfigJson.parse(ConfigJson.tree(config).put("provider", DEFAULT_TARGET.provider())
                .put("model", DEFAULT_TARGET.model()), DEFAULT_TARGET);
    }

    private static LimitConfig entry(String name, JsonNode node) {
        return prefixed(name, node);
    }

    private static LimitConfig prefixed(String name, JsonNode node) {
        try {
            return ConfigJson.parse(node, null);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    private static void add(Map<Target, LimitConfig> out, String name, LimitConfig c) {
        if (out.putIfAbsent(c.target(), c) != null) {
            throw new IllegalArgumentException(name + ": target " + c.target() + " appears more than once");
        }
    }

    /**
     * @param def the default config, or null
     * @return a copy with this default
     */
    public ConfigSet withDefault(LimitConfig def) {
        return new ConfigSet(def == null ? null : asDefault(def), targets);
    }

    /**
     * @param c a config
     * @return a copy holding it (replacing any for its target)
     */
    public ConfigSet with(LimitConfig c) {
        Map<Target, LimitConfig> m = new TreeMap<>(BY_NAME);
        m.putAll(targets);
        m.put(c.target(), c);
        return new ConfigSet(defaultConfig, m);
    }

    /**
     * @param t a target
     * @return a copy without its config
     */
    public ConfigSet without(Target t) {
        Map<Target, LimitConfig> m = new TreeMap<>(BY_NAME);
        m.putAll(targets);
        m.remove(t);
        return new ConfigSet(defaultConfig, m);
    }

    /** @return the JSON tree: the default under {@value #DEFAULT_NAME}, then each target under its name */
    public ObjectNode toJson() {
        ObjectNode o = ConfigJson.MAPPER.createObjectNode();
        if (defaultConfig != null) {
            o.set(DEFAULT_NAME, ConfigJson.tree(defaultConfig));
        }
        targets.forEach((t, c) -> o.set(t.toString(), ConfigJson.tree(c)));
        return o;
    }
}
