package io.llmlimiter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A set of config documents (limits and probe record, see {@link ConfigDocument}) in the shape of the config file, the export and the import: a JSON object keyed
 * by name whose values are configs (the seed's {@code data/llm_configs.json}, keyed by names like
 * {@code deepseek_chat}, reads as is), the reserved name {@value #DEFAULT_NAME} holding the config
 * unknown targets get. An import may also be a JSON list of configs. Names other than
 * {@value #DEFAULT_NAME} are labels only: the target is the config's {@code provider}/{@code model}.
 *
 * <p>Every entry may carry its {@code revision} and {@code updated_at} (see {@link Stamp}); a
 * deleted target is kept as a tombstone, {@code {"provider", "model", "deleted": true, "revision",
 * "updated_at"}}, so a copy elsewhere that still holds the target does not bring it back.
 *
 * <p>Immutable and thread-safe.
 *
 * @param defaultConfig the config for unknown targets, or null when the set has none
 * @param targets the configs by target, sorted by name
 * @param stamps the revision of each entry by name (a target's name or {@value #DEFAULT_NAME});
 *     entries without one have none yet
 * @param tombstones deleted targets and when they were deleted
 */
public record ConfigSet(ConfigDocument defaultConfig, Map<Target, ConfigDocument> targets, Map<String, Stamp> stamps,
                        Map<Target, Stamp> tombstones) {

    /** The name under which the default config is kept; no target name can start with {@code _}. */
    public static final String DEFAULT_NAME = "_default";
    /** The target name the client gives the default config. */
    public static final Target DEFAULT_TARGET = new Target("default", "default");
    /** The most configs one set may hold. */
    public static final int MAX_TARGETS = 10_000;

    private static final Comparator<Target> BY_NAME = Comparator.comparing(Target::toString);

    /** Copies the maps, sorted by target name. */
    public ConfigSet {
        TreeMap<Target, ConfigDocument> sorted = new TreeMap<>(BY_NAME);
        sorted.putAll(targets);
        targets = Collections.unmodifiableMap(sorted);
        stamps = Collections.unmodifiableMap(new TreeMap<>(stamps));
        TreeMap<Target, Stamp> dead = new TreeMap<>(BY_NAME);
        dead.putAll(tombstones);
        tombstones = Collections.unmodifiableMap(dead);
    }

    /**
     * A set without revisions or tombstones.
     *
     * @param defaultConfig the config for unknown targets, or null
     * @param targets the configs by target
     */
    public ConfigSet(ConfigDocument defaultConfig, Map<Target, ConfigDocument> targets) {
        this(defaultConfig, targets, Map.of(), Map.of());
    }

    /** @return an empty set */
    public static ConfigSet empty() {
        return new ConfigSet(null, Map.of());
    }

    /**
     * @param name a target's name or {@value #DEFAULT_NAME}
     * @return the revision of its entry or tombstone, or null
     */
    public Stamp stamp(String name) {
        Stamp s = stamps.get(name);
        if (s == null && !name.equals(DEFAULT_NAME)) {
            try {
                s = tombstones.get(Target.parse(name));
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        return s;
    }

    /**
     * Parses and validates every entry; nothing is half-read.
     *
     * @param root the JSON tree: an object keyed by name, or a list of configs
     * @return the set
     * @throws IllegalArgumentException naming the entry and field, e.g. {@code deepseek_chat: limits[0]: ...}
     */
    public static ConfigSet parse(JsonNode root) {
        Parsed p = new Parsed();
        if (root != null && root.isArray()) {
            for (int i = 0; i < root.size(); i++) {
                p.add("[" + i + "]", root.get(i));
            }
        } else if (root != null && root.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals(DEFAULT_NAME)) {
                    Stamp stamp = stampOf(DEFAULT_NAME, e.getValue());
                    if (e.getValue().isObject() && e.getValue().has("deleted")) {
                        throw new IllegalArgumentException(DEFAULT_NAME + ": deleted: the default config cannot be deleted");
                    }
                    p.def = asDefault(strip(e.getValue()));
                    if (stamp != null) {
                        p.stamps.put(DEFAULT_NAME, stamp);
                    }
                } else {
                    p.add(e.getKey(), e.getValue());
                }
            }
        } else {
            throw new IllegalArgumentException("configs must be a JSON object keyed by name (the config file's shape) "
                    + "or a list of configs");
        }
        if (p.targets.size() > MAX_TARGETS) {
            throw new IllegalArgumentException("configs must hold at most " + MAX_TARGETS + " targets, got "
                    + p.targets.size());
        }
        if (p.tombstones.size() > MAX_TARGETS) {
            throw new IllegalArgumentException("configs must hold at most " + MAX_TARGETS + " deleted targets, got "
                    + p.tombstones.size());
        }
        return new ConfigSet(p.def, p.targets, p.stamps, p.tombstones);
    }

    /** What {@link #parse(JsonNode)} collects. */
    private static final class Parsed {
        ConfigDocument def;
        final Map<Target, ConfigDocument> targets = new LinkedHashMap<>();
        final Map<String, Stamp> stamps = new HashMap<>();
        final Map<Target, Stamp> tombstones = new HashMap<>();

        void add(String name, JsonNode node) {
            Stamp stamp = stampOf(name, node);
            if (node.has("deleted")) {
                JsonNode d = node.get("deleted");
                if (!d.isBoolean()) {
                    throw new IllegalArgumentException(name + ": deleted must be true or false, got " + d);
                }
                if (d.asBoolean()) {
                    Target t = tombstoneTarget(name, node);
                    if (targets.containsKey(t) || tombstones.putIfAbsent(t, stamp == null ? new Stamp(0, 0) : stamp) != null) {
                        throw new IllegalArgumentException(name + ": target " + t + " appears more than once");
                    }
                    return;
                }
            }
            ConfigDocument c = prefixed(name, strip(node));
            if (tombstones.containsKey(c.target()) || targets.putIfAbsent(c.target(), c) != null) {
                throw new IllegalArgumentException(name + ": target " + c.target() + " appears more than once");
            }
            if (stamp != null) {
                stamps.put(c.target().toString(), stamp);
            }
        }
    }

    private static Target tombstoneTarget(String name, JsonNode node) {
        for (String f : new String[] {"provider", "model"}) {
            if (!node.hasNonNull(f) || !node.get(f).isTextual()) {
                throw new IllegalArgumentException(name + ": " + f + " is required");
            }
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Set.of("provider", "model", "deleted", "revision", "updated_at").contains(f)) {
                throw new IllegalArgumentException(name + ": " + f + ": a deleted target holds only provider, model, "
                        + "deleted, revision and updated_at");
            }
        }
        try {
            return new Target(node.get("provider").asText(), node.get("model").asText());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    /** The entry's {@code revision} and {@code updated_at}, or null when it has no revision. */
    private static Stamp stampOf(String name, JsonNode node) {
        if (node == null || !node.isObject() || !node.has("revision")) {
            if (node != null && node.isObject() && node.has("updated_at")) {
                throw new IllegalArgumentException(name + ": updated_at needs a revision");
            }
            return null;
        }
        JsonNode r = node.get("revision");
        if (!r.isIntegralNumber() || !r.canConvertToLong() || r.asLong() < 0) {
            throw new IllegalArgumentException(name + ": revision must be a whole number >= 0, got " + r);
        }
        long updated = r.asLong();
        if (node.has("updated_at")) {
            JsonNode u = node.get("updated_at");
            try {
                updated = Instant.parse(u.asText()).toEpochMilli();
                if (!u.isTextual()) {
                    throw new DateTimeParseException("", "", 0);
                }
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException(name + ": updated_at must be a time like 2024-05-01T12:00:00Z, got "
                        + u);
            }
        }
        return new Stamp(r.asLong(), updated);
    }

    /** A copy of the entry without the revision fields, for {@link ConfigDocument}. */
    private static JsonNode strip(JsonNode node) {
        if (node == null || !node.isObject()) {
            return node;
        }
        ObjectNode copy = ((ObjectNode) node).deepCopy();
        copy.remove(List.of("revision", "updated_at", "deleted"));
        return copy;
    }

    /**
     * @param node a config's JSON, with or without provider and model
     * @return it as the default config (target {@code default/default})
     */
    public static ConfigDocument asDefault(JsonNode node) {
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

    /**
     * @param doc a config document
     * @return the same document named {@code default/default}, its probe record kept
     */
    public static ConfigDocument asDefault(ConfigDocument doc) {
        return doc.withConfig(asDefault(doc.config()));
    }

    private static ConfigDocument prefixed(String name, JsonNode node) {
        try {
            return ConfigDocument.parse(node, null);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    /**
     * @param def the default config, or null
     * @return a copy with this default (its revision unchanged)
     */
    public ConfigSet withDefault(ConfigDocument def) {
        return new ConfigSet(def == null ? null : asDefault(def), targets, stamps, tombstones);
    }

    /**
     * @param def the default config
     * @param stamp its revision
     * @return a copy with this default
     */
    public ConfigSet withDefault(ConfigDocument def, Stamp stamp) {
        Map<String, Stamp> s = new HashMap<>(stamps);
        s.put(DEFAULT_NAME, stamp);
        return new ConfigSet(asDefault(def), targets, s, tombstones);
    }

    /**
     * @param c a config
     * @return a copy holding it (replacing any for its target, and its revision)
     */
    public ConfigSet with(ConfigDocument c) {
        return with(c, null);
    }

    /**
     * @param c a config
     * @param stamp its revision, or null for none
     * @return a copy holding it (replacing any config or tombstone of its target)
     */
    public ConfigSet with(ConfigDocument c, Stamp stamp) {
        Map<Target, ConfigDocument> m = new HashMap<>(targets);
        m.put(c.target(), c);
        Map<String, Stamp> s = new HashMap<>(stamps);
        if (stamp == null) {
            s.remove(c.target().toString());
        } else {
            s.put(c.target().toString(), stamp);
        }
        Map<Target, Stamp> dead = new HashMap<>(tombstones);
        dead.remove(c.target());
        return new ConfigSet(defaultConfig, m, s, dead);
    }

    /**
     * @param t a target
     * @return a copy without its config, its revision or its tombstone
     */
    public ConfigSet without(Target t) {
        Map<Target, ConfigDocument> m = new HashMap<>(targets);
        m.remove(t);
        Map<String, Stamp> s = new HashMap<>(stamps);
        s.remove(t.toString());
        Map<Target, Stamp> dead = new HashMap<>(tombstones);
        dead.remove(t);
        return new ConfigSet(defaultConfig, m, s, dead);
    }

    /**
     * @param t a target
     * @param stamp when it was deleted
     * @return a copy without its config, holding its tombstone
     */
    public ConfigSet deleted(Target t, Stamp stamp) {
        ConfigSet out = without(t);
        Map<Target, Stamp> dead = new HashMap<>(out.tombstones);
        dead.put(t, stamp);
        return new ConfigSet(out.defaultConfig, out.targets, out.stamps, dead);
    }

    /** @return the same configs without revisions or tombstones (what an import or export compares) */
    public ConfigSet unstamped() {
        return new ConfigSet(defaultConfig, targets);
    }

    /** @return the JSON tree: the default under {@value #DEFAULT_NAME}, then each target or tombstone under its name */
    public ObjectNode toJson() {
        ObjectNode o = ConfigJson.MAPPER.createObjectNode();
        if (defaultConfig != null) {
            o.set(DEFAULT_NAME, stamped(defaultConfig.tree(), stamps.get(DEFAULT_NAME)));
        }
        TreeMap<String, ObjectNode> entries = new TreeMap<>();
        targets.forEach((t, c) -> entries.put(t.toString(), stamped(c.tree(), stamps.get(t.toString()))));
        tombstones.forEach((t, st) -> {
            ObjectNode d = ConfigJson.MAPPER.createObjectNode();
            d.put("provider", t.provider()).put("model", t.model()).put("deleted", true);
            entries.put(t.toString(), stamped(d, st));
        });
        entries.forEach(o::set);
        return o;
    }

    private static ObjectNode stamped(ObjectNode o, Stamp stamp) {
        if (stamp != null) {
            o.put("revision", stamp.revision());
            o.put("updated_at", stamp.updatedAt().toString());
        }
        return o;
    }
}
