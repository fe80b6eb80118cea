package io.llmlimiter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.internal.ConfigJson;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends one JSON line per config change: {@code time}, {@code action}, {@code target},
 * {@code source}, and the config document (probe record included) {@code before} and {@code after}. Configs hold no secrets; the
 * admin token is never written. Thread-safe: appends are serialized.
 */
public final class AuditLog {

    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    // Reading the tail only: an audit log grows forever, the API shows the latest entries.
    private static final int TAIL_BYTES = 1024 * 1024;

    private final Path path;
    private final Clock clock;

    /**
     * @param path the file, e.g. {@code data/audit.log}
     * @param clock the clock for entry times
     */
    public AuditLog(Path path, Clock clock) {
        this.path = path.toAbsolutePath().normalize();
        this.clock = clock;
    }

    /** @return the file's path */
    public Path path() {
        return path;
    }

    /**
     * Appends an entry. A failure to write is logged, not thrown: the change itself is already made.
     *
     * @param action what happened, e.g. {@code create}, {@code restore}
     * @param target the target, {@code _default} or null for the whole set
     * @param source who did it, e.g. {@code api 10.0.0.5} or {@code reconciler}
     * @param before the config before, or null
     * @param after the config after, or null
     */
    public synchronized void append(String action, String target, String source, ConfigDocument before,
                                    ConfigDocument after) {
        ObjectNode o = ConfigJson.MAPPER.createObjectNode();
        o.put("time", clock.instant().toString());
        o.put("action", action);
        o.put("target", target);
        o.put("source", source);
        o.set("before", before == null ? null : before.tree());
        o.set("after", after == null ? null : after.tree());
        try {
            Files.createDirectories(path.getParent());
            Files.writeString(path, o + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            LOG.error("cannot append to the audit log {}: {}", path, e.toString());
        }
    }

    /**
     * @param limit the most entries to return
     * @return the latest entries, oldest first
     * @throws IOException when the file cannot be read
     */
    public synchronized List<JsonNode> recent(int limit) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.exists(path)) {
            return out;
        }
        String tail;
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "r")) {
            long start = Math.max(0, f.length() - TAIL_BYTES);
            byte[] buf = new byte[(int) (f.length() - start)];
            f.seek(start);
            f.readFully(buf);
            tail = new String(buf, StandardCharsets.UTF_8);
            if (start > 0) {
                tail = tail.substring(tail.indexOf('\n') + 1);
            }
        }
        String[] lines = tail.split("\n");
        for (int i = Math.max(0, lines.length - limit); i < lines.length; i++) {
            if (!lines[i].isBlank()) {
                out.add(ConfigJson.MAPPER.readTree(lines[i]));
            }
        }
        return out;
    }
}
