package io.llmlimiter.bench;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway {@code redis-server} the bench starts for itself on a free loopback port (never
 * 6379), without persistence, in a temporary directory. Uses {@code redis-server} from the PATH,
 * else the binary inside the embedded-redis jar. Not thread-safe; close it once.
 */
public final class LocalRedis implements AutoCloseable {

    private final Process process;
    private final int port;
    private final Path dir;
    private final Path binary;

    private LocalRedis(Process process, int port, Path dir, Path binary) {
        this.process = process;
        this.port = port;
        this.dir = dir;
        this.binary = binary;
    }

    /**
     * Starts a server and waits until it answers.
     *
     * @param explicitBinary a {@code redis-server} to use, or null to search the PATH, then embedded-redis
     * @return the running server
     * @throws IllegalStateException when it does not come up within 20 s
     */
    public static LocalRedis start(Path explicitBinary) {
        Path binary = explicitBinary != null ? explicitBinary : onPath().orElseGet(LocalRedis::embedded);
        try {
            Path dir = Files.createTempDirectory("limiter-bench-redis-");
            int port = freePort();
            Process p = new ProcessBuilder(List.of(binary.toString(), "--port", Integer.toString(port),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString(),
                    "--logfile", dir.resolve("redis.log").toString()))
                    .directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("stdout.log").toFile()).start();
            LocalRedis redis = new LocalRedis(p, port, dir, binary);
            Runtime.getRuntime().addShutdownHook(new Thread(redis::close, "bench-redis-stop"));
            redis.awaitReady();
            return redis;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary, e);
        }
    }

    /** @return the URI to connect to */
    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    /** @return the binary that runs */
    public Path binary() {
        return binary;
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("redis-server exited at start; see " + dir.resolve("redis.log"));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                s.getOutputStream().write("PING\r\n".getBytes());
                if (s.getInputStream().read() == '+') {
                    return;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            sleep(50);
        }
        close();
        throw new IllegalStateException("redis-server did not answer within 20 s on port " + port);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            // A leftover temp directory is harmless.
        }
    }

    private static Optional<Path> onPath() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        return Stream.of(path.split(File.pathSeparator)).map(d -> Path.of(d, "redis-server"))
                .filter(Files::isExecutable).findFirst();
    }

    private static Path embedded() {
        try {
            return redis.embedded.core.ExecutableProvider.newJarResourceProvider().get().toPath();
        } catch (IOException e) {
            throw new UncheckedIOException("no redis-server on the PATH and none could be extracted", e);
        }
    }

    private static int freePort() throws IOException {
        // Port 0 lets the kernel pick; 6379 (a shared server's port) is never handed out that way.
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting Redis", e);
        }
    }
}
