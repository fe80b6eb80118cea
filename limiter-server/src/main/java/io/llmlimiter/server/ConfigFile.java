package io.llmlimiter.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.internal.ConfigJson;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The durable copy of the configs: a JSON file in the {@link ConfigSet} shape. Writes go to a
 * temporary file in the same directory, are forced to disk and moved over the old file in one
 * atomic rename, so a crash leaves either the old or the new file, never half of one.
 *
 * <p>After each write, a copy of what was written is kept beside it ({@code .<name>.synced}): at
 * start, the entries that differ from that copy are the ones edited by hand while the server was
 * down (see {@link ConfigSeeder}).
 *
 * <p>Not synchronized: {@link ConfigStore} serializes all writes.
 */
public final class ConfigFile {

    private final Path path;

    /** @param path where the file lives, e.g. {@code data/llm_configs.json} */
    public ConfigFile(Path path) {
        this.path = path.toAbsolutePath().normalize();
    }

    /** @return the file's path */
    public Path path() {
        return path;
    }

    /** @return the copy of what the server last wrote */
    Path syncedPath() {
        return path.resolveSibling("." + path.getFileName() + ".synced");
    }

    /**
     * @return the file's modification time, ms since the epoch
     * @throws UncheckedIOException when it cannot be read
     */
    long lastModifiedMs() {
        try {
            return Files.getLastModifiedTime(path).toMillis();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the modification time of " + path, e);
        }
    }

    /** @return what the server last wrote, or empty when unknown (no copy, or not readable) */
    Optional<ConfigSet> readSynced() {
        Path synced = syncedPath();
        if (!Files.exists(synced)) {
            return Optional.empty();
        }
        try {
            return Optional.of(parse(Files.readString(synced, StandardCharsets.UTF_8)));
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * @return the configs, or empty when the file does not exist yet
     * @throws IllegalArgumentException when the file is not valid, naming the entry and field
     * @throws UncheckedIOException when it cannot be read
     */
    public Optional<ConfigSet> read() {
        if (!Files.exists(path)) {
            return Optional.empty();
        }
        try {
            return Optional.of(parse(Files.readString(path, StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the config file " + path, e);
        }
    }

    /**
     * Reads the built-in seed defaults (the seed project's targets and the conservative default).
     *
     * @return the seed configs
     */
    public static ConfigSet seed() {
        try (InputStream in = ConfigFile.class.getResourceAsStream("seed-configs.json")) {
            if (in == null) {
                throw new IllegalStateException("seed-configs.json is missing from the server jar");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ConfigSet parse(String text) {
        JsonNode root;
        try {
            root = ConfigJson.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        return ConfigSet.parse(root);
    }

    /**
     * Replaces the file with these configs, atomically.
     *
     * @param configs the configs
     * @throws IOException when it cannot be written; the old file is then untouched
     */
    public void write(ConfigSet configs) throws IOException {
        byte[] bytes = (ConfigJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(configs.toJson()) + "\n")
                .getBytes(StandardCharsets.UTF_8);
        replace(path, bytes);
        // A crash between the two leaves the copy older: the entries written last then read as edited
        // by hand at the file's modification time, which is when they were written anyway.
        replace(syncedPath(), bytes);
    }

    private static void replace(Path path, byte[] bytes) throws IOException {
        Path dir = path.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + path.getFileName(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
