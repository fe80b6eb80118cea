package io.llmlimiter.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import java.util.Objects;

/**
 * A target's config as the admin server stores it: the limit config every client reads, and the
 * {@link ProbeRecord} the server keeps beside it in the same JSON document (in Redis, the config
 * file, exports and the audit log). Clients parse the document and ignore the probe fields.
 * Immutable and thread-safe.
 *
 * @param config the limit config
 * @param probe what the last probe found ({@link ProbeRecord#NONE} when never probed)
 */
public record ConfigDocument(LimitConfig config, ProbeRecord probe) {

    /** Requires both parts. */
    public ConfigDocument {
        Objects.requireNonNull(config, "config must not be null");
        Objects.requireNonNull(probe, "probe must not be null");
    }

    /**
     * @param config a limit config
     * @return it without probe record
     */
    public static ConfigDocument of(LimitConfig config) {
        return new ConfigDocument(config, ProbeRecord.NONE);
    }

    /**
     * @param json a config document's JSON text
     * @param target the target it is for when known from elsewhere (a URL path, a Redis key), else null
     * @return the document
     * @throws IllegalArgumentException naming the bad field
     */
    public static ConfigDocument parse(String json, Target target) {
        JsonNode root;
        try {
            root = ConfigJson.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("body is not valid JSON: " + e.getOriginalMessage());
        }
        return parse(root, target);
    }

    /**
     * Validates the limit config first, then the probe record.
     *
     * @param root a config document's JSON tree
     * @param target the target it is for when known from elsewhere, else null
     * @return the document
     * @throws IllegalArgumentException naming the bad field
     */
    public static ConfigDocument parse(JsonNode root, Target target) {
        LimitConfig config = ConfigJson.parse(root, target);
        return new ConfigDocument(config, ProbeRecord.parse(root));
    }

    /** @return the target */
    public Target target() {
        return config.target();
    }

    /** @return whether a client wrote the config by itself (see {@link LimitConfig#autoCreated()}) */
    public boolean autoCreated() {
        return config.autoCreated();
    }

    /**
     * @param c another limit config
     * @return a document holding it and this probe record
     */
    public ConfigDocument withConfig(LimitConfig c) {
        return new ConfigDocument(c, probe);
    }

    /** @return the JSON tree: the config's fields, the probe's before {@code source} */
    public ObjectNode tree() {
        ObjectNode o = ConfigJson.tree(config);
        JsonNode source = o.remove("source");
        probe.writeTo(o);
        if (source != null) {
            o.set("source", source);
        }
        return o;
    }

    /** @return the JSON text, as stored in Redis's {@code json} field */
    public String json() {
        return tree().toString();
    }
}
