package io.llmlimiter.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One real Redis Sentinel ({@code redis-server <conf> --sentinel}) on a free loopback port, for
 * tests. {@link RedisProcess} cannot run sentinels because sentinel mode needs a writable config file
 * as the first argument; this wrapper writes one into a fresh temporary directory, with the given
 * lines after the managed {@code port}, {@code bind}, {@code dir} and {@code logfile} lines.
 *
 * <p>Ports come from {@link RedisProcess#reservePort()}, so they never collide with the servers of
 * this JVM nor with 127.0.0.1:6379. The sentinel is ready when its log names its ID and that same ID
 * answers {@code SENTINEL MYID} on the port, which proves this process owns the port. Sentinels still
 * running when the JVM exits are killed by a shutdown hook. This class is thread-safe.
 */
public final class SentinelProcess implements AutoCloseable {

    private static final int START_ATTEMPTS = 5;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Pattern SENTINEL_ID = Pattern.compile("Sentinel ID is ([0-9a-f]+)");
    private static final Set<SentinelProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(s -> s.process.destroyForcibly()),
                "sentinel-process-reaper"));
    }

    private final int port;
    private final Path workDir;
    private final Process process;

    private SentinelProcess(int port, Path workDir, Process process) {
        this.port = port;
        this.workDir = workDir;
        this.process = process;
    }

    /**
     * Starts a sentinel from the {@code redis-server} on the {@code PATH} and waits until it answers.
     *
     * @param configLines sentinel configuration lines, for example
     *     {@code "sentinel monitor mymaster 127.0.0.1 21234 2"}
     * @return the running sentinel
     * @throws IllegalStateException if no sentinel could be started; the message holds the log tail
     */
    public static SentinelProcess start(List<String> configLines) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "redis-server");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return start(candidate, configLines);
            }
        }
        throw new IllegalStateException("No executable redis-server on the PATH (" + path + ")");
    }

    /**
     * Starts a sentinel from a given {@code redis-server} binary (for example
     * {@link RedisProcess#executable()} of the monitored master) and waits until it answers.
     *
     * @param executable the {@code redis-server} binary, run with {@code --sentinel}
     * @param configLines sentinel configuration lines, as for {@link #start(List)}
     * @return the running sentinel
     * @throws IllegalStateException if no sentinel could be started; the message holds the log tail
     */
    public static SentinelProcess start(Path executable, List<String> configLines) {
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            int port = RedisProcess.reservePort();
            Path workDir = null;
            try {
                workDir = Files.createTempDirectory("llmlimiter-sentinel-");
                Path log = workDir.resolve("sentinel.log");
                List<String> lines = new ArrayList<>(List.of("port " + port, "bind 127.0.0.1",
                        "daemonize no", "dir \"" + workDir + "\"", "logfile \"" + log + "\""));
                lines.addAll(configLines);
                Path conf = workDir.resolve("sentinel.conf");
                Files.write(conf, lines, StandardCharsets.UTF_8);
                Process process = new ProcessBuilder(executable.toString(), conf.toString(), "--sentinel")
                        .directory(workDir.toFile())
                        .redirectErrorStream(true)
                        .redirectOutput(workDir.resolve("stdout.log").toFile())
                        .start();
                SentinelProcess sentinel = new SentinelProcess(port, workDir, process);
                LIVE.add(sentinel);
                if (sentinel.awaitReady()) {
                    return sentinel;
                }
                // Port clash between our probe and the sentinel's bind: try another port.
                sentinel.close();
            } catch (IOException e) {
                deleteRecursively(workDir);
                throw new UncheckedIOException("Could not prepare a sentinel on port " + port, e);
            }
        }
        throw new IllegalStateException("No free port for a sentinel after " + START_ATTEMPTS + " attempts");
    }

    private boolean awaitReady() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String lastProblem = "no ID logged yet";
        while (System.nanoTime() < deadline) {
            String log = log();
            if (!process.isAlive()) {
                if (log.contains("Address already in use")) {
                    return false;
                }
                throw new IllegalStateException("Sentinel exited during startup (files kept in " + workDir + "):\n"
                        + log + readQuietly(workDir.resolve("stdout.log")));
            }
            Matcher id = SENTINEL_ID.matcher(log);
            if (id.find()) {
                try {
                    if (id.group(1).equals(RedisWire.text(port, "SENTINEL", "MYID"))) {
                        return true;
                    }
                    lastProblem = "another server answers on port " + port;
                } catch (RuntimeException e) {
                    lastProblem = e.toString();
                }
            }
            sleep(25);
        }
        process.destroyForcibly();
        throw new IllegalStateException("Sentinel on port " + port + " not ready within " + START_TIMEOUT + " ("
                + lastProblem + "; files kept in " + workDir + "):\n" + log());
    }

    /**
     * The sentinel's port.
     *
     * @return the port
     */
    public int port() {
        return port;
    }

    /**
     * The address as {@code 127.0.0.1:port}, the form used in sentinel URIs.
     *
     * @return host and port
     */
    public String address() {
        return "127.0.0.1:" + port;
    }

    /**
     * The config file, which the sentinel rewrites as it learns about replicas, peers and failovers.
     *
     * @return the path
     */
    public Path configFile() {
        return workDir.resolve("sentinel.conf");
    }

    /**
     * The sentinel log so far.
     *
     * @return the log text, empty if not written yet
     */
    public String log() {
        return readQuietly(workDir.resolve("sentinel.log"));
    }

    /**
     * Tells whether the process is alive.
     *
     * @return true if running
     */
    public boolean isRunning() {
        return process.isAlive();
    }

    /** Kills the sentinel abruptly (SIGKILL) and waits until it is gone. */
    public void kill() {
        process.destroyForcibly();
        awaitExit(Duration.ofSeconds(10));
    }

    /** Stops the sentinel (SIGTERM, then SIGKILL if it lingers) and deletes its files. Idempotent. */
    @Override
    public void close() {
        process.destroy();
        if (!awaitExit(Duration.ofSeconds(5))) {
            kill();
        }
        LIVE.remove(this);
        deleteRecursively(workDir);
    }

    /**
     * Describes the sentinel for test output.
     *
     * @return address and directory
     */
    @Override
    public String toString() {
        return "SentinelProcess[" + address() + ", dir=" + workDir + "]";
    }

    private boolean awaitExit(Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(could not read " + file + ": " + e + ")";
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for a sentinel", e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // A leftover temp directory is harmless.
        }
    }
}
