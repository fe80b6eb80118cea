package io.llmlimiter.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A throwaway Redis for development and the demo: {@code redis-server} from the PATH if there is
 * one, else the binary shipped in the embedded-redis jar, on a free loopback port, with persistence
 * off ({@code --save "" --appendonly no}). Killed on {@link #close()} or when the JVM exits.
 *
 * <pre>{@code
 * try (EmbeddedRedis redis = EmbeddedRedis.start()) {
 *     LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
 * }
 * }</pre>
 *
 * Thread-safe.
 */
public final class EmbeddedRedis implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedRedis.class);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(15);

    private final Process process;
    private final int port;
    private final String source;
    private final Path dir;
    private final Thread reaper;

    private EmbeddedRedis(Process process, int port, String source, Path dir) {
        this.process = process;
        this.port = port;
        this.source = source;
        this.dir = dir;
        this.reaper = new Thread(process::destroyForcibly, "embedded-redis-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
    }

    /**
     * Starts a Redis and waits until it answers {@code PING}.
     *
     * @return the running Redis
     * @throws IOException when no Redis could be started; the message holds its log
     */
    public static EmbeddedRedis start() throws IOException {
        Optional<Path> onPath = findOnPath();
        return onPath.isPresent() ? start(onPath.get(), "redis-server from the PATH (" + onPath.get() + ")") : startBundled();
    }

    /**
     * Starts a given {@code redis-server} binary and waits until it answers {@code PING}.
     *
     * @param binary the binary, or null for {@link #start()}'s choice
     * @return the running Redis
     * @throws IOException when it could not be started
     */
    public static EmbeddedRedis start(Path binary) throws IOException {
        return binary == null ? start() : start(binary, binary.toString());
    }

    /**
     * Starts the binary shipped in the embedded-redis jar, even when one is on the PATH.
     *
     * @return the running Redis
     * @throws IOException when it could not be started
     */
    static EmbeddedRedis startBundled() throws IOException {
        return start(redis.embedded.core.ExecutableProvider.newJarResourceProvider().get().toPath(),
                "the embedded-redis binary");
    }

    private static EmbeddedRedis start(Path binary, String source) throws IOException {
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int port = freePort();
            Path dir = Files.createTempDirectory("llmlimiter-dev-redis-");
            Path log = dir.resolve("redis.log");
            Process p = new ProcessBuilder(List.of(binary.toString(), "--port", Integer.toString(port),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString(),
                    "--daemonize", "no"))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (awaitPing(p, port)) {
                LOG.debug("embedded Redis ({}) on port {}", source, port);
                return new EmbeddedRedis(p, port, source, dir);
            }
            p.destroyForcibly();
            last = new IOException("Redis (" + source + ") did not start on port " + port + ": "
                    + Files.readString(log, StandardCharsets.UTF_8).strip());
        }
        throw last;
    }

    /** @return the URI clients connect with, e.g. {@code redis://127.0.0.1:34567} */
    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    /** @return the port */
    public int port() {
        return port;
    }

    /** @return where the binary came from, for the log */
    public String source() {
        return source;
    }

    /** Kills the server and deletes its directory. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(reaper);
        } catch (IllegalStateException e) {
            // The JVM is already shutting down; the hook runs anyway.
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            LOG.debug("could not delete {}: {}", dir, e.toString());
        }
    }

    private static Optional<Path> findOnPath() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String d : path.split(java.io.File.pathSeparator)) {
            Path p = Path.of(d, "redis-server");
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean awaitPing(Process p, int port) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline && p.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
                s.setSoTimeout(1000);
                OutputStream out = s.getOutputStream();
                out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                byte[] buf = new byte[7];
                int n = in.readNBytes(buf, 0, 7);
                if (n == 7 && new String(buf, StandardCharsets.US_ASCII).equals("+PONG\r\n")) {
                    return true;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }
}
