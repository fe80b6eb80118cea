package io.llmlimiter.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Tests for {@link RedisProcess}, {@link RedisServerExtension} and {@link WithRedis}. */
@Tag("redis-features")
@WithRedis
class RedisProcessTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final ClientResources RESOURCES = DefaultClientResources.create();

    private static RedisProcess beforeAllServer;
    private static RedisProcess secondClassServer;
    private static RedisProcess annotatedClassServer;

    private final RedisProcess constructorServer;

    RedisProcessTest(RedisProcess redis) {
        this.constructorServer = redis;
    }

    @BeforeAll
    static void rememberTheClassServer(RedisProcess redis) {
        beforeAllServer = redis;
    }

    @AfterAll
    static void nestedClassServersAreStoppedWhenTheirClassEnds() {
        // Nested classes finish before this runs, while the outer server is still up.
        try {
            assertThat(secondClassServer).isNotNull();
            assertThat(secondClassServer.isRunning()).isFalse();
            assertThat(secondClassServer.workDir()).doesNotExist();
            assertThat(annotatedClassServer).isNotNull();
            assertThat(annotatedClassServer.isRunning()).isFalse();
            assertThat(beforeAllServer.isRunning()).isTrue();
        } finally {
            RESOURCES.shutdown(0, 2, TimeUnit.SECONDS);
        }
    }

    @Test
    void theExtensionGivesAWorkingServerOnAPortOtherThan6379(RedisProcess redis) {
        assertThat(redis.port()).isNotEqualTo(6379);
        assertThat(redis.isRunning()).isTrue();
        assertThat(redis.uri()).isEqualTo("redis://" + redis.host() + ":" + redis.port());
        if (redis.backend() != RedisProcess.Backend.DOCKER) {
            assertThat(redis.host()).isEqualTo("127.0.0.1");
        }
        assertThat(withRedis(redis, null, c -> c.set("greeting", "hello"))).isEqualTo("OK");
        assertThat(withRedis(redis, null, c -> c.get("greeting"))).isEqualTo("hello");
    }

    @Test
    void theConstructorBeforeAllAndTestMethodsShareTheClassServer(RedisProcess redis) {
        assertThat(redis).isSameAs(constructorServer).isSameAs(beforeAllServer);
    }

    @Test
    void theDefaultServerDoesNotPersistAnything(RedisProcess redis) {
        assertThat(withRedis(redis, null, c -> c.configGet("save").get("save"))).isEmpty();
        assertThat(withRedis(redis, null, c -> c.configGet("appendonly").get("appendonly"))).isEqualTo("no");
    }

    @Test
    void theLogFileRecordsTheServerStartup(RedisProcess redis) throws Exception {
        assertThat(redis.logFile()).exists();
        assertThat(Files.readString(redis.logFile())).contains("Ready to accept connections");
    }

    @Test
    void pidIsTheLiveLocalProcessAndDisappearsAfterAKill() {
        try (RedisProcess redis = RedisProcess.start()) {
            if (redis.backend() == RedisProcess.Backend.DOCKER) {
                assertThat(redis.pid()).isEmpty();
                return;
            }
            long pid = redis.pid().orElseThrow();
            assertThat(ProcessHandle.of(pid)).hasValueSatisfying(h -> assertThat(h.isAlive()).isTrue());
            redis.kill();
            assertThat(redis.pid()).isEmpty();
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).isNotEqualTo(Optional.of(true));
        }
    }

    @Test
    void killMakesConnectionsFailAndRestartBringsTheSamePortBack() {
        try (RedisProcess redis = RedisProcess.start()) {
            int port = redis.port();
            RedisClient client = RedisClient.create(RESOURCES, RedisURI.builder()
                    .withHost(redis.host()).withPort(port).withTimeout(Duration.ofSeconds(2)).build());
            try (StatefulRedisConnection<String, String> open = client.connect()) {
                open.sync().set("before", "kill");

                redis.kill();

                assertThat(redis.isRunning()).isFalse();
                assertThatThrownBy(() -> open.sync().ping()).isInstanceOf(RedisException.class);
                assertThatThrownBy(() -> ping(redis, null))
                        .isInstanceOf(RedisConnectionException.class);

                redis.restart();

                assertThat(redis.isRunning()).isTrue();
                assertThat(redis.port()).isEqualTo(port);
                assertThat(ping(redis, null)).isEqualTo("PONG");
                // Nothing is persisted by default, so a crash loses the data.
                assertThat(withRedis(redis, null, c -> c.get("before"))).isNull();
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }
        }
    }

    @Test
    void stopThenRestartKeepsThePortAndTheArguments() {
        try (RedisProcess redis = RedisProcess.start("--requirepass", "s3cret")) {
            int port = redis.port();
            redis.stop();
            assertThat(redis.isRunning()).isFalse();
            redis.restart();
            assertThat(redis.port()).isEqualTo(port);
            assertThat(redis.extraArgs()).containsExactly("--requirepass", "s3cret");
            assertThatThrownBy(() -> ping(redis, null))
                    .hasStackTraceContaining("NOAUTH");
            assertThat(ping(redis, "s3cret")).isEqualTo("PONG");
        }
    }

    @Test
    void restartingARunningServerStopsItFirst() {
        try (RedisProcess redis = RedisProcess.start()) {
            long before = redis.pid().orElse(-1);
            redis.restart();
            assertThat(redis.isRunning()).isTrue();
            if (redis.backend() != RedisProcess.Backend.DOCKER) {
                assertThat(redis.pid()).isPresent().isNotEqualTo(OptionalLong.of(before));
            }
            assertThat(ping(redis, null)).isEqualTo("PONG");
        }
    }

    @Test
    void extraArgsAreAppliedSoRequirepassDemandsAuth() {
        try (RedisProcess redis = RedisProcess.start("--requirepass", "s3cret")) {
            assertThat(redis.password()).hasValue("s3cret");
            // Refused without the password. Lettuce usually reports NOAUTH, but when the server's
            // refusal closes the handshake first it reports a failed handshake instead.
            assertThatThrownBy(() -> ping(redis, null))
                    .isInstanceOf(RedisException.class)
                    .satisfiesAnyOf(e -> assertThat(e).hasStackTraceContaining("NOAUTH"),
                            e -> assertThat(e).hasStackTraceContaining("RedisHandshakeHandler"));
            assertThatThrownBy(() -> ping(redis, "wrong"))
                    .isInstanceOf(RedisException.class);
            assertThat(ping(redis, "s3cret")).isEqualTo("PONG");
        }
    }

    @Test
    void anAppendOnlyServerKeepsItsDataAcrossAKillAndRestart() {
        try (RedisProcess redis = RedisProcess.start("--appendonly", "yes", "--appendfsync", "always")) {
            withRedis(redis, null, c -> c.set("survivor", "yes"));
            redis.kill();
            redis.restart();
            assertThat(withRedis(redis, null, c -> c.get("survivor"))).isEqualTo("yes");
        }
    }

    @Test
    void managedArgumentsAreRejected() {
        assertThatThrownBy(() -> RedisProcess.start("--port", "6379"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--port");
        assertThatThrownBy(() -> RedisProcess.start("--dir", "/tmp"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aServerThatCannotStartFailsLoudlyAndKeepsItsLog() throws Exception {
        Throwable failure = catchThrowable(() -> RedisProcess.start("--no-such-option", "x"));
        assertThat(failure).isInstanceOf(IllegalStateException.class).hasMessageContaining("no-such-option");
        Matcher kept = Pattern.compile("files kept in (\\S+)\\)").matcher(failure.getMessage());
        assertThat(kept.find()).as("message names the kept directory: %s", failure.getMessage()).isTrue();
        Path workDir = Path.of(kept.group(1));
        try {
            assertThat(workDir.resolve("stdout.log")).exists();
        } finally {
            try (Stream<Path> files = Files.walk(workDir)) {
                for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(file);
                }
            }
        }
    }

    @Test
    void closeStopsTheServerDeletesItsFilesAndRefusesARestart() {
        RedisProcess redis = RedisProcess.start();
        Path workDir = redis.workDir();
        redis.close();
        assertThat(redis.isRunning()).isFalse();
        assertThat(workDir).doesNotExist();
        assertThatThrownBy(redis::restart).isInstanceOf(IllegalStateException.class);
        redis.close();
    }

    @Test
    void serversStartedConcurrentlyGetDistinctPorts() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<RedisProcess> started = new ArrayList<>();
        try {
            List<Future<RedisProcess>> futures = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                futures.add(pool.submit((Callable<RedisProcess>) RedisProcess::start));
            }
            for (Future<RedisProcess> f : futures) {
                started.add(f.get());
            }
            assertThat(started).extracting(RedisProcess::port).doesNotHaveDuplicates().doesNotContain(6379);
            for (RedisProcess redis : started) {
                assertThat(ping(redis, null)).isEqualTo("PONG");
            }
        } finally {
            started.forEach(RedisProcess::close);
            pool.shutdownNow();
        }
    }

    @Test
    void forcingEmbeddedStartsTheBinaryShippedInTheEmbeddedRedisJar() {
        try (RedisProcess redis = RedisProcess.start(RedisProcess.Backend.EMBEDDED)) {
            assertThat(redis.backend()).isEqualTo(RedisProcess.Backend.EMBEDDED);
            Path binary = redis.executable().orElseThrow();
            assertThat(binary.getFileName().toString()).startsWith("redis-server-");
            assertThat(pathDirectories()).doesNotContain(binary.getParent());
            assertThat(ping(redis, null)).isEqualTo("PONG");
            redis.kill();
            redis.restart();
            assertThat(ping(redis, null)).isEqualTo("PONG");
        }
    }

    @Test
    void theBinaryPropertyForcesTheBackend() {
        String previous = System.getProperty(RedisProcess.BINARY_PROPERTY);
        try {
            System.setProperty(RedisProcess.BINARY_PROPERTY, "embedded");
            assertThat(RedisProcess.chooseBackend()).isEqualTo(RedisProcess.Backend.EMBEDDED);
            try (RedisProcess redis = RedisProcess.start()) {
                assertThat(redis.backend()).isEqualTo(RedisProcess.Backend.EMBEDDED);
                assertThat(ping(redis, null)).isEqualTo("PONG");
            }
            System.setProperty(RedisProcess.BINARY_PROPERTY, "PATH");
            assertThat(RedisProcess.chooseBackend()).isEqualTo(RedisProcess.Backend.PATH);
        } finally {
            restoreBinaryProperty(previous);
        }
    }

    @Test
    void anUnknownBinaryChoiceFailsLoudly() {
        String previous = System.getProperty(RedisProcess.BINARY_PROPERTY);
        try {
            System.setProperty(RedisProcess.BINARY_PROPERTY, "telepathy");
            assertThatThrownBy(RedisProcess::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("telepathy");
        } finally {
            restoreBinaryProperty(previous);
        }
    }

    @Test
    void forcingDockerNeverFallsBackSilently() {
        if (!RedisProcess.dockerAvailable()) {
            assertThatThrownBy(() -> RedisProcess.start(RedisProcess.Backend.DOCKER))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no Docker engine");
            return;
        }
        try (RedisProcess redis = RedisProcess.start(RedisProcess.Backend.DOCKER)) {
            assertThat(redis.backend()).isEqualTo(RedisProcess.Backend.DOCKER);
            int port = redis.port();
            assertThat(ping(redis, null)).isEqualTo("PONG");
            redis.kill();
            redis.restart();
            assertThat(redis.port()).isEqualTo(port);
            assertThat(ping(redis, null)).isEqualTo("PONG");
        }
    }

    /** A second test class: it must get its own server. */
    @Nested
    class ASecondTestClass {

        @Test
        void getsItsOwnServerOnADifferentPort(RedisProcess redis) {
            secondClassServer = redis;
            assertThat(redis).isNotSameAs(constructorServer);
            assertThat(redis.port()).isNotEqualTo(constructorServer.port()).isNotEqualTo(6379);
            withRedis(redis, null, c -> c.set("only-here", "1"));
            assertThat(withRedis(redis, null, c -> c.get("only-here"))).isEqualTo("1");
            assertThat(withRedis(constructorServer, null, c -> c.get("only-here"))).isNull();
        }
    }

    /** A nested class with its own server arguments. */
    @Nested
    @WithRedis(args = {"--requirepass", "nested-secret"})
    class AnAnnotatedTestClass {

        @Test
        void theAnnotationArgumentsAreAppliedToItsServer(RedisProcess redis) {
            annotatedClassServer = redis;
            assertThat(redis.password()).hasValue("nested-secret");
            assertThatThrownBy(() -> ping(redis, null)).hasStackTraceContaining("NOAUTH");
            assertThat(ping(redis, "nested-secret")).isEqualTo("PONG");
            assertThat(constructorServer.password()).isEmpty();
        }
    }

    private static String ping(RedisProcess redis, String password) {
        return withRedis(redis, password, RedisCommands::ping);
    }

    private static String withRedis(RedisProcess redis, String password,
            Function<RedisCommands<String, String>, String> action) {
        RedisURI uri = RedisURI.create(redis.uri());
        uri.setTimeout(TIMEOUT);
        RedisURI.Builder builder = RedisURI.builder(uri);
        if (password != null) {
            builder.withPassword(password.toCharArray());
        }
        RedisClient client = RedisClient.create(RESOURCES, builder.build());
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            return action.apply(connection.sync());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }

    private static List<Path> pathDirectories() {
        List<Path> dirs = new ArrayList<>();
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty()) {
                dirs.add(Path.of(dir));
            }
        }
        return dirs;
    }

    private static void restoreBinaryProperty(String previous) {
        if (previous == null) {
            System.clearProperty(RedisProcess.BINARY_PROPERTY);
        } else {
            System.setProperty(RedisProcess.BINARY_PROPERTY, previous);
        }
    }
}
