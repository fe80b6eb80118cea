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
        Path dir = path.getParent();
        Files.createDirectories(dir);
        byte[] bytes = (ConfigJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(configs.toJson()) + "\n")
                .getBytes(StandardCharsets.UTF_8);
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
