package io.llmlimiter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * What the last probe of a target's real API found, kept by the admin server in the target's
 * stored config document ({@code is_tested}, {@code last_test_date}, {@code test_notes}) beside
 * the limits. Clients read these fields and ignore them: they are bookkeeping for the people who
 * manage the configs, not part of a limit. Immutable and thread-safe.
 *
 * @param tested whether the limits were measured against the real API (the probe command)
 * @param lastTestDate the date of the last probe, at most 64 characters, or null
 * @param notes notes from the last probe, at most 2000 characters, or null
 */
public record ProbeRecord(boolean tested, String lastTestDate, String notes) {

    /** No probe: not tested, no date, no notes. */
    public static final ProbeRecord NONE = new ProbeRecord(false, null, null);

    /** The JSON fields of a probe record. */
    public static final List<String> FIELDS = List.of("is_tested", "last_test_date", "test_notes");

    /**
     * @throws IllegalArgumentException naming the field that is too long
     */
    public ProbeRecord {
        if (lastTestDate != null && lastTestDate.length() > 64) {
            throw new IllegalArgumentException("last_test_date must be at most 64 characters");
        }
        if (notes != null && notes.length() > 2000) {
            throw new IllegalArgumentException("test_notes must be at most 2000 characters");
        }
    }

    /**
     * @param root a config document; absent or null fields take their defaults
     * @return its probe record
     * @throws IllegalArgumentException naming the bad field
     */
    public static ProbeRecord parse(JsonNode root) {
        JsonNode tested = root.get("is_tested");
        if (tested != null && !tested.isBoolean()) {
            throw new IllegalArgumentException("is_tested must be true or false, got " + tested);
        }
        return new ProbeRecord(tested != null && tested.asBoolean(), text(root, "last_test_date"),
                text(root, "test_notes"));
    }

    private static String text(JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new IllegalArgumentException(field + " must be a string, got " + v);
        }
        return v.asText();
    }

    /**
     * Writes the fields: {@code is_tested} always, the date and the notes when set.
     *
     * @param o a config document
     * @return {@code o}
     */
    public ObjectNode writeTo(ObjectNode o) {
        o.put("is_tested", tested);
        if (lastTestDate != null) {
            o.put("last_test_date", lastTestDate);
        }
        if (notes != null) {
            o.put("test_notes", notes);
        }
        return o;
    }
}
