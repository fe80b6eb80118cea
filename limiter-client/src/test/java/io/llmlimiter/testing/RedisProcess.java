package io.llmlimiter.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One real, throwaway Redis server for tests, listening on a free loopback port of 127.0.0.1.
 *
 * <p>The server is started with {@code --save "" --appendonly no} (unless the caller passes its own
 * {@code --save} or {@code --appendonly}), in a fresh temporary working directory, with its log
 * written to {@link #logFile()}. Extra configuration arguments are appended verbatim, one token per
 * array element (for example {@code start("--requirepass", "secret")}), and are reused by
 * {@link #restart()}, so tests can build password, cluster, replica, TLS and persistence setups.
 *
 * <p>Where the server comes from is decided by {@link #chooseBackend()}: {@code redis-server} on the
 * {@code PATH} if there is one, else a {@value #DOCKER_IMAGE} container when a Docker engine is
 * actually reachable, else the binary shipped inside the {@code com.github.codemonstur:embedded-redis}
 * jar. The system property {@value #BINARY_PROPERTY} (or environment variable {@value #BINARY_ENV})
 * forces one of {@code path}, {@code docker}, {@code embedded} or {@code auto}.
 *
 * <p>This never touches the shared server on 127.0.0.1:6379: ports are picked at random from
 * 20000-29999 and the cluster bus port ({@code port + 10000}) is checked to be free too. Every server
 * still running when the JVM exits is killed by a shutdown hook (a JVM that is itself SIGKILLed
 * cannot run hooks, so its servers outlive it).
 *
 * <p>This class is thread-safe.
 */
public final class RedisProcess implements AutoCloseable {

    /** System property that forces the backend: {@code path}, {@code docker}, {@code embedded} or {@code auto}. */
    public static final String BINARY_PROPERTY = "llmlimiter.redis.binary";

    /** Environment variable read when {@value #BINARY_PROPERTY} is not set; same values. */
    public static final String BINARY_ENV = "LLMLIMITER_REDIS_BINARY";

    /** The Docker image used by the {@link Backend#DOCKER} backend. */
    public static final String DOCKER_IMAGE = "redis:7";

    /** Where a {@link RedisProcess} gets its server from. */
    public enum Backend {
        /** The {@code redis-server} executable found on the {@code PATH}. */
        PATH,
        /** A {@value RedisProcess#DOCKER_IMAGE} container run through Testcontainers. */
        DOCKER,
        /** The {@code redis-server} binary shipped inside the embedded-redis jar. */
        EMBEDDED
    }

    private static final String HOST = "127.0.0.1";
    private static final int FIRST_PORT = 20000;
    private static final int PORT_SPAN = 10000;
    // Redis Cluster always uses port + 10000 for its bus, so both must be free.
    private static final int CLUSTER_BUS_OFFSET = 10000;
    private static final int SHARED_REDIS_PORT = 6379;
    private static final int START_ATTEMPTS = 5;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final String READY_MARKER = "Ready to accept connections";
    private static final List<String> RESERVED_ARGS =
            List.of("--port", "--bind", "--dir", "--logfile", "--daemonize");

    // Ports handed out by this JVM are never handed out twice, so restart() can reclaim its port.
    private static final Set<Integer> RESERVED_PORTS = ConcurrentHashMap.newKeySet();
    private static final Set<RedisProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(RedisProcess::killAllAtExit, "redis-process-reaper"));
    }

    private final Backend backend;
    private final int port;
    private final String host;
    private final List<String> extraArgs;
    private final Path workDir;
    private final Path logFile;
    private final Path executable;
    private final Runner runner;
    private final String password;
    private final boolean logsReadiness;
    private boolean closed;

    private RedisProcess(Backend backend, int port, List<String> extraArgs, Path workDir) {
        this.backend = backend;
        this.port = port;
        this.extraArgs = extraArgs;
        this.workDir = workDir;
        this.logFile = workDir.resolve("redis.log");
        this.password = lastValueOf(extraArgs, "--requirepass").filter(p -> !p.isEmpty()).orElse(null);
        // At loglevel warning/nothing Redis does not print the ready line, so only PING can be used.
        String level = lastValueOf(extraArgs, "--loglevel").orElse("notice").toLowerCase(Locale.ROOT);
        this.logsReadiness = !level.equals("warning") && !level.equals("nothing");
        switch (backend) {
            case PATH:
                this.executable = findOnPath().orElseThrow(() -> new IllegalStateException(
                        "Backend PATH was requested but no executable redis-server is on the PATH ("
                                + System.getenv("PATH") + ")"));
                this.host = HOST;
                this.runner = new LocalRunner(localCommand(executable), workDir);
                break;
            case EMBEDDED:
                this.executable = Embedded.binary();
                this.host = HOST;
                this.runner = new LocalRunner(localCommand(executable), workDir);
                break;
            case DOCKER:
                if (!dockerAvailable()) {
                    throw new IllegalStateException(
                            "Backend DOCKER was requested but no Docker engine is reachable by Testcontainers");
                }
                this.executable = null;
                this.host = Docker.host();
                this.runner = new DockerRunner(port, dockerCommand(), logFile);
                break;
            default:
                throw new IllegalArgumentException("Unknown backend " + backend);
        }
    }

    /**
     * Starts a server from the backend chosen by {@link #chooseBackend()} and waits until it accepts
     * connections.
     *
     * @param extraArgs extra {@code redis-server} arguments, one token per element, for example
     *     {@code "--requirepass", "secret"}; {@code --port}, {@code --bind}, {@code --dir},
     *     {@code --logfile} and {@code --daemonize} are managed here and rejected
     * @return the running server
     * @throws IllegalArgumentException if a managed argument is passed
     * @throws IllegalStateException if no server could be started; the message holds the log tail
     */
    public static RedisProcess start(String... extraArgs) {
        return start(chooseBackend(), extraArgs);
    }

    /**
     * Starts a server from the given backend and waits until it accepts connections.
     *
     * @param backend where the server comes from; it is not silently replaced by another one
     * @param extraArgs extra {@code redis-server} arguments, as for {@link #start(String...)}
     * @return the running server
     * @throws IllegalArgumentException if a managed argument is passed
     * @throws IllegalStateException if the backend is unusable or the server did not start
     */
    public static RedisProcess start(Backend backend, String... extraArgs) {
        List<String> args = List.of(extraArgs);
        for (String arg : args) {
            if (RESERVED_ARGS.contains(arg.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException(arg + " is managed by RedisProcess and cannot be passed; got "
                        + args);
            }
        }
        IllegalStateException lastPortClash = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            int port = reservePort();
            RedisProcess redis = null;
            Path workDir = null;
            try {
                workDir = Files.createTempDirectory("llmlimiter-redis-");
                redis = new RedisProcess(backend, port, args, workDir);
                LIVE.add(redis);
                redis.launchAndAwaitReady();
                return redis;
            } catch (PortClashException e) {
                // Another process (maybe another test JVM) took the port between our probe and bind.
                lastPortClash = new IllegalStateException(e.getMessage(), e);
                redis.close();
            } catch (IOException e) {
                discard(redis, workDir, port);
                throw new UncheckedIOException("Could not prepare a Redis server on port " + port, e);
            } catch (RuntimeException | Error e) {
                if (redis != null) {
                    // The server itself failed: keep its files so the full log can be read.
                    try {
                        redis.shutDown(false);
                    } catch (RuntimeException cleanupFailure) {
                        e.addSuppressed(cleanupFailure);
                    }
                } else {
                    discard(null, workDir, port);
                }
                throw e;
            }
        }
        throw new IllegalStateException("No free port for Redis after " + START_ATTEMPTS + " attempts",
                lastPortClash);
    }

    /**
     * Decides which backend {@link #start(String...)} uses: the value of {@value #BINARY_PROPERTY} or
     * {@value #BINARY_ENV} if set to {@code path}, {@code docker} or {@code embedded}; otherwise
     * ({@code auto} or unset) {@code PATH} if {@code redis-server} is on the {@code PATH}, then
     * {@code DOCKER} if an engine is reachable, then {@code EMBEDDED}.
     *
     * @return the backend to use
     * @throws IllegalStateException if the property or environment variable holds an unknown value
     */
    public static Backend chooseBackend() {
        String forced = System.getProperty(BINARY_PROPERTY);
        String source = BINARY_PROPERTY;
        if (forced == null || forced.isBlank()) {
            forced = System.getenv(BINARY_ENV);
            source = BINARY_ENV;
        }
        String choice = forced == null || forced.isBlank() ? "auto" : forced.trim().toLowerCase(Locale.ROOT);
        switch (choice) {
            case "path":
                return Backend.PATH;
            case "docker":
                return Backend.DOCKER;
            case "embedded":
                return Backend.EMBEDDED;
            case "auto":
                if (findOnPath().isPresent()) {
                    return Backend.PATH;
                }
                return dockerAvailable() ? Backend.DOCKER : Backend.EMBEDDED;
            default:
                throw new IllegalStateException(source + "=" + forced
                        + " is not one of path, docker, embedded, auto");
        }
    }

    /**
     * Tells whether Testcontainers can reach a Docker engine. Never throws, also not when
     * Testcontainers is missing from the classpath; the answer is computed once per JVM.
     *
     * @return true if containers can be started
     */
    public static boolean dockerAvailable() {
        return DockerProbe.AVAILABLE;
    }

    /**
     * Reserves a free loopback port in 20000-29999 whose {@code port + 10000} is free as well, for
     * servers that need a second listener (for example {@code --tls-port}). The port is never handed
     * out again by this JVM.
     *
     * @return a port that was free when probed
     * @throws IllegalStateException if no free port was found
     */
    public static int reservePort() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < 500; i++) {
            int candidate = FIRST_PORT + random.nextInt(PORT_SPAN);
            if (candidate == SHARED_REDIS_PORT || !RESERVED_PORTS.add(candidate)) {
                continue;
            }
            if (isFree(candidate) && isFree(candidate + CLUSTER_BUS_OFFSET)) {
                return candidate;
            }
            RESERVED_PORTS.remove(candidate);
        }
        throw new IllegalStateException("No free loopback port found in " + FIRST_PORT + "-"
                + (FIRST_PORT + PORT_SPAN - 1));
    }

    /**
     * The host to connect to: {@code 127.0.0.1} for local processes, the Docker host otherwise.
     *
     * @return the host name or address
     */
    public String host() {
        return host;
    }

    /**
     * The TCP port, the same for the whole life of this object, also across {@link #restart()}.
     *
     * @return the port
     */
    public int port() {
        return port;
    }

    /**
     * The server address as a URI without credentials, for example {@code redis://127.0.0.1:21234}.
     *
     * @return the URI string
     */
    public String uri() {
        return "redis://" + host + ":" + port;
    }

    /**
     * The backend this server came from.
     *
     * @return the backend
     */
    public Backend backend() {
        return backend;
    }

    /**
     * The extra arguments given at start, reused on restart.
     *
     * @return an unmodifiable list
     */
    public List<String> extraArgs() {
        return extraArgs;
    }

    /**
     * The password from the last {@code --requirepass} extra argument, if any.
     *
     * @return the password, or empty
     */
    public Optional<String> password() {
        return Optional.ofNullable(password);
    }

    /**
     * The {@code redis-server} executable run, for local backends.
     *
     * @return the executable, or empty for {@link Backend#DOCKER}
     */
    public Optional<Path> executable() {
        return Optional.ofNullable(executable);
    }

    /**
     * The temporary working directory ({@code --dir}); it holds AOF/RDB/nodes.conf files and survives
     * {@link #restart()}, and is deleted by {@link #close()}.
     *
     * @return the directory
     */
    public Path workDir() {
        return workDir;
    }

    /**
     * The server log, appended to across restarts; for {@link Backend#DOCKER} it holds the container
     * output of the first run. Anything the process printed before opening its log is in
     * {@code stdout.log} next to it.
     *
     * @return the log file path
     */
    public Path logFile() {
        return logFile;
    }

    /**
     * The operating-system process id of the running local server.
     *
     * @return the pid, or empty if not running or run in Docker
     */
    public synchronized OptionalLong pid() {
        return runner.pid();
    }

    /**
     * Tells whether the server process (or container) is alive.
     *
     * @return true if running
     */
    public synchronized boolean isRunning() {
        return runner.alive();
    }

    /**
     * Stops the server gracefully ({@code SHUTDOWN NOSAVE}, then SIGTERM, then SIGKILL if it lingers).
     * The port and working directory are kept, so {@link #restart()} can bring it back. Does nothing
     * if it is not running.
     */
    public synchronized void stop() {
        if (!runner.alive()) {
            return;
        }
        try {
            send(List.of("SHUTDOWN", "NOSAVE"));
        } catch (IOException e) {
            // The server may refuse or already be gone; the signals below still stop it.
        }
        if (!runner.awaitExit(STOP_TIMEOUT)) {
            runner.terminate();
            if (!runner.awaitExit(STOP_TIMEOUT)) {
                runner.kill();
            }
        }
    }

    /**
     * Kills the server abruptly (SIGKILL), as a crash would, and waits until it is gone. The port and
     * working directory are kept for {@link #restart()}.
     */
    public synchronized void kill() {
        runner.kill();
    }

    /**
     * Starts the server again on the same port with the same arguments and working directory,
     * stopping it gracefully first if it is running, and waits until it accepts connections.
     *
     * @throws IllegalStateException if this object was closed or the server did not come back
     */
    public synchronized void restart() {
        if (closed) {
            throw new IllegalStateException("Cannot restart a closed " + this);
        }
        stop();
        try {
            launchAndAwaitReady();
        } catch (PortClashException e) {
            throw new IllegalStateException("Port " + port + " was taken while Redis was down: " + e.getMessage(), e);
        }
    }

    /**
     * Stops the server for good (as {@link #stop()}, falling back to a kill), deletes its working
     * directory and releases its port. Idempotent; {@link #restart()} is refused afterwards.
     */
    @Override
    public void close() {
        shutDown(true);
    }

    private void shutDown(boolean deleteFiles) {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                stop();
            } catch (RuntimeException e) {
                runner.kill();
            } finally {
                runner.dispose();
            }
        }
        LIVE.remove(this);
        if (deleteFiles) {
            deleteRecursively(workDir);
        }
        RESERVED_PORTS.remove(port);
    }

    /**
     * Describes the server for test output.
     *
     * @return backend, URI, pid and log file
     */
    @Override
    public String toString() {
        return "RedisProcess[" + backend + " " + uri() + ", pid=" + pid() + ", log=" + logFile + "]";
    }

    private List<String> localCommand(Path binary) {
        List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.addAll(List.of("--port", String.valueOf(port), "--bind", HOST, "--daemonize", "no",
                "--dir", workDir.toString(), "--logfile", logFile.toString()));
        command.addAll(defaultPersistenceArgs());
        command.addAll(extraArgs);
        return command;
    }

    private List<String> dockerCommand() {
        List<String> command = new ArrayList<>();
        // Inside the container Redis listens on the same port the host sees, so cluster and replica
        // announcements stay valid; it must bind all container interfaces for the port mapping.
        command.addAll(List.of("redis-server", "--port", String.valueOf(port), "--bind", "0.0.0.0",
                "--protected-mode", "no", "--daemonize", "no", "--dir", "/data"));
        command.addAll(defaultPersistenceArgs());
        command.addAll(extraArgs);
        return command;
    }

    private List<String> defaultPersistenceArgs() {
        List<String> args = new ArrayList<>();
        if (lastValueOf(extraArgs, "--save").isEmpty()) {
            args.addAll(List.of("--save", ""));
        }
        if (lastValueOf(extraArgs, "--appendonly").isEmpty()) {
            args.addAll(List.of("--appendonly", "no"));
        }
        return args;
    }

    private void launchAndAwaitReady() throws PortClashException {
        long logOffset = sizeOf(logFile);
        try {
            runner.launch();
        } catch (IOException | RuntimeException e) {
            String message = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
            // Docker reports a taken host port when creating the port mapping.
            if (message.contains("already allocated") || message.contains("address already in use")) {
                throw new PortClashException("Port " + port + " is taken: " + e.getMessage());
            }
            throw new IllegalStateException("Could not launch " + this, e);
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        boolean sawReadyLine = !logsReadiness || backend == Backend.DOCKER;
        String lastReply = "no reply yet";
        while (System.nanoTime() < deadline) {
            if (!runner.alive()) {
                String log = readFrom(logFile, logOffset) + readFrom(workDir.resolve("stdout.log"), 0);
                if (log.contains("Address already in use")) {
                    throw new PortClashException("Redis could not bind port " + port + ":\n" + tail(log));
                }
                throw new IllegalStateException("Redis exited during startup (files kept in " + workDir + "): "
                        + this + "\n" + tail(log));
            }
            // The ready line in our own log proves our process owns the port, not some other server.
            if (!sawReadyLine) {
                sawReadyLine = readFrom(logFile, logOffset).contains(READY_MARKER);
            }
            if (sawReadyLine) {
                try {
                    lastReply = send(List.of("PING"));
                    if (!lastReply.startsWith("-LOADING")) {
                        // +PONG, or an auth error from ACL users we were not told about: either way
                        // the server accepts connections.
                        return;
                    }
                } catch (IOException e) {
                    lastReply = e.toString();
                }
            }
            sleep(25);
        }
        runner.kill();
        throw new IllegalStateException("Redis did not accept connections within " + START_TIMEOUT + " ("
                + lastReply + "; files kept in " + workDir + "): " + this + "\n" + tail(readFrom(logFile, logOffset)));
    }

    /** Sends one command (after AUTH when a password is known) and returns the first line of its reply. */
    private String send(List<String> command) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 500);
            socket.setSoTimeout(2000);
            OutputStream out = socket.getOutputStream();
            if (password != null) {
                out.write(resp(List.of("AUTH", password)));
            }
            out.write(resp(command));
            out.flush();
            BufferedReader in = new BufferedReader(
                    new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            if (password != null) {
                in.readLine();
            }
            String reply = in.readLine();
            if (reply == null) {
                // SHUTDOWN closes the connection without replying; PING should never do so.
                throw new IOException("Connection closed by " + host + ":" + port);
            }
            return reply;
        }
    }

    private static byte[] resp(List<String> command) {
        StringBuilder sb = new StringBuilder().append('*').append(command.size()).append("\r\n");
        for (String part : command) {
            byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
            sb.append('$').append(bytes.length).append("\r\n").append(part).append("\r\n");
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Optional<String> lastValueOf(List<String> args, String option) {
        String value = null;
        for (int i = 0; i < args.size() - 1; i++) {
            if (args.get(i).equalsIgnoreCase(option)) {
                value = args.get(i + 1);
            }
        }
        return Optional.ofNullable(value);
    }

    private static Optional<Path> findOnPath() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, "redis-server");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static long sizeOf(Path file) {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private static String readFrom(Path file, long offset) {
        try {
            if (!Files.exists(file)) {
                return "";
            }
            byte[] bytes = Files.readAllBytes(file);
            int from = (int) Math.min(offset, bytes.length);
            return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(could not read " + file + ": " + e + ")";
        }
    }

    private static String tail(String log) {
        List<String> lines = log.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for Redis", e);
        }
    }

    private static void discard(RedisProcess redis, Path workDir, int port) {
        if (redis != null) {
            try {
                redis.close();
            } catch (RuntimeException e) {
                // Already failing; the original error is the one worth reporting.
            }
        }
        if (workDir != null) {
            deleteRecursively(workDir);
        }
        RESERVED_PORTS.remove(port);
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // A leftover temp file is harmless.
                }
            });
        } catch (IOException e) {
            // Same: leave it to the OS temp cleaner.
        }
    }

    private static void killAllAtExit() {
        // No locking: a test thread may hold an instance lock while the JVM is going down.
        for (RedisProcess redis : LIVE) {
            try {
                redis.runner.kill();
                redis.runner.dispose();
            } catch (RuntimeException | LinkageError e) {
                // Keep reaping the others.
            }
            deleteRecursively(redis.workDir);
        }
    }

    /** Thrown when the server could not bind its port, so start() can retry elsewhere. */
    private static final class PortClashException extends Exception {
        private static final long serialVersionUID = 1L;

        PortClashException(String message) {
            super(message);
        }
    }

    /** How a server is launched and signalled; one implementation per kind of process. */
    private interface Runner {
        void launch() throws IOException;

        boolean alive();

        boolean awaitExit(Duration timeout);

        void terminate();

        void kill();

        void dispose();

        OptionalLong pid();
    }

    /** A {@code redis-server} child process of this JVM. */
    private static final class LocalRunner implements Runner {
        private final List<String> command;
        private final Path workDir;
        private volatile Process process;

        LocalRunner(List<String> command, Path workDir) {
            this.command = List.copyOf(command);
            this.workDir = workDir;
        }

        @Override
        public void launch() throws IOException {
            process = new ProcessBuilder(command)
                    .directory(workDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(workDir.resolve("stdout.log").toFile()))
                    .start();
        }

        @Override
        public boolean alive() {
            Process p = process;
            return p != null && p.isAlive();
        }

        @Override
        public boolean awaitExit(Duration timeout) {
            Process p = process;
            if (p == null) {
                return true;
            }
            try {
                return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !p.isAlive();
            }
        }

        @Override
        public void terminate() {
            Process p = process;
            if (p != null) {
                p.destroy();
            }
        }

        @Override
        public void kill() {
            Process p = process;
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
                if (!awaitExit(STOP_TIMEOUT)) {
                    throw new IllegalStateException("redis-server pid " + p.pid() + " survived SIGKILL");
                }
            }
        }

        @Override
        public void dispose() {
            kill();
        }

        @Override
        public OptionalLong pid() {
            Process p = process;
            return p != null && p.isAlive() ? OptionalLong.of(p.pid()) : OptionalLong.empty();
        }
    }

    /** The binary inside the embedded-redis jar, extracted once per JVM. */
    private static final class Embedded {
        private static Path binary;

        static synchronized Path binary() {
            if (binary == null) {
                try {
                    binary = redis.embedded.core.ExecutableProvider.newJarResourceProvider().get().toPath();
                } catch (IOException e) {
                    throw new UncheckedIOException("Could not extract redis-server from embedded-redis", e);
                } catch (LinkageError e) {
                    throw new IllegalStateException(
                            "Backend EMBEDDED needs com.github.codemonstur:embedded-redis on the test classpath", e);
                }
            }
            return binary;
        }
    }

    /** Holds the one-off Docker probe; loaded only when asked, so no Docker work happens otherwise. */
    private static final class DockerProbe {
        static final boolean AVAILABLE = probe();

        private static boolean probe() {
            try {
                return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
            } catch (Throwable e) {
                // No engine, a broken config, or Testcontainers absent: all mean "not available".
                return false;
            }
        }
    }

    /** Testcontainers helpers, kept apart so nothing Docker-related loads unless it is used. */
    private static final class Docker {
        static String host() {
            String host = org.testcontainers.DockerClientFactory.instance().dockerHostIpAddress();
            return "localhost".equals(host) ? HOST : host;
        }
    }

    /** A {@value RedisProcess#DOCKER_IMAGE} container with a fixed host port, restarted in place. */
    private static final class DockerRunner implements Runner {
        private final int port;
        private final List<String> command;
        private final Path logFile;
        private volatile org.testcontainers.containers.GenericContainer<?> container;

        DockerRunner(int port, List<String> command, Path logFile) {
            this.port = port;
            this.command = List.copyOf(command);
            this.logFile = logFile;
        }

        @Override
        public void launch() {
            if (container != null) {
                // Starting the same container keeps its /data, like a local restart keeps workDir.
                container.getDockerClient().startContainerCmd(container.getContainerId()).exec();
                return;
            }
            String bindIp = HOST.equals(Docker.host()) ? HOST : "0.0.0.0";
            org.testcontainers.containers.GenericContainer<?> created =
                    new org.testcontainers.containers.GenericContainer<>(
                            org.testcontainers.utility.DockerImageName.parse(DOCKER_IMAGE))
                            .withCommand(command.toArray(String[]::new))
                            .withCreateContainerCmdModifier(cmd -> {
                                List<com.github.dockerjava.api.model.PortBinding> bindings = new ArrayList<>();
                                List<com.github.dockerjava.api.model.ExposedPort> exposed = new ArrayList<>();
                                for (int p : new int[] {port, port + CLUSTER_BUS_OFFSET}) {
                                    com.github.dockerjava.api.model.ExposedPort e =
                                            com.github.dockerjava.api.model.ExposedPort.tcp(p);
                                    exposed.add(e);
                                    bindings.add(new com.github.dockerjava.api.model.PortBinding(
                                            com.github.dockerjava.api.model.Ports.Binding.bindIpAndPort(bindIp, p),
                                            e));
                                }
                                cmd.withExposedPorts(exposed);
                                cmd.getHostConfig().withPortBindings(bindings);
                            })
                            .withLogConsumer(frame -> appendLog(frame.getUtf8String()))
                            .waitingFor(org.testcontainers.containers.wait.strategy.Wait
                                    .forLogMessage(".*" + READY_MARKER + ".*", 1)
                                    .withStartupTimeout(START_TIMEOUT));
            // Assigned before start() so dispose() also removes a container that failed to start.
            container = created;
            created.start();
        }

        private void appendLog(String text) {
            try {
                Files.writeString(logFile, text, StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                // Losing debug output must not fail the test.
            }
        }

        @Override
        public boolean alive() {
            org.testcontainers.containers.GenericContainer<?> c = container;
            if (c == null) {
                return false;
            }
            try {
                return Boolean.TRUE.equals(c.getDockerClient().inspectContainerCmd(c.getContainerId()).exec()
                        .getState().getRunning());
            } catch (RuntimeException e) {
                return false;
            }
        }

        @Override
        public boolean awaitExit(Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (alive()) {
                if (System.nanoTime() > deadline) {
                    return false;
                }
                sleep(50);
            }
            return true;
        }

        @Override
        public void terminate() {
            org.testcontainers.containers.GenericContainer<?> c = container;
            if (c != null && alive()) {
                c.getDockerClient().stopContainerCmd(c.getContainerId()).withTimeout(10).exec();
            }
        }

        @Override
        public void kill() {
            org.testcontainers.containers.GenericContainer<?> c = container;
            if (c != null && alive()) {
                c.getDockerClient().killContainerCmd(c.getContainerId()).withSignal("SIGKILL").exec();
                awaitExit(STOP_TIMEOUT);
            }
        }

        @Override
        public void dispose() {
            org.testcontainers.containers.GenericContainer<?> c = container;
            if (c != null) {
                c.stop();
            }
        }

        @Override
        public OptionalLong pid() {
            return OptionalLong.empty();
        }
    }
}
