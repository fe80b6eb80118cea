package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Configs are durable by revision, against a real Redis with an append-only file: a Redis restarted
 * from an older AOF, deleted targets, a file edited while the server was down, two servers on one
 * Redis, and a change of the default config.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigRevisionTest {

    private static final Target KEPT = Target.parse("rev/kept");
    private static final Target CHANGED = Target.parse("rev/changed");
    private static final Target DELETED = Target.parse("rev/deleted");
    private static final Target CREATED = Target.parse("rev/created");

    private RedisProcess redis;
    private RedisClient client;
    private StatefulRedisConnection<String, String> raw;
    private LlmLimiter worker;
    private final List<Running> running = new ArrayList<>();

    /** A server with its own limiter and config file. */
    private record Running(AdminServer server, LlmLimiter limiter, Path file) implements AutoCloseable {
        @Override
        public void close() {
            server.close();
            limiter.close();
        }
    }

    @BeforeAll
    void startRedis() {
        redis = RedisProcess.start("--appendonly", "yes", "--appendfsync", "always");
        client = RedisClient.create(redis.uri());
        raw = client.connect();
        worker = LlmLimiter.builder().redis(redis.uri()).build();
    }

    @AfterAll
    void stopRedis() {
        worker.close();
        raw.close();
        client.shutdown();
        redis.close();
    }

    @BeforeEach
    void empty() {
        raw.sync().flushall();
    }

    @AfterEach
    void stopServers() {
        running.forEach(Running::close);
        running.clear();
    }

    private Running server(Path file) throws IOException {
        LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
        AdminServer server = AdminServer.builder().admin(limiter.admin()).redis(redis.uri()).token(TestServer.TOKEN)
                .configFile(file).host("127.0.0.1").port(0).reconcileInterval(Duration.ofMinutes(10)).start();
        Running r = new Running(server, limiter, file);
        running.add(r);
        return r;
    }

    private static Path newFile() throws IOException {
        return Files.createTempDirectory("llmlim-revision-").resolve("llm_configs.json");
    }

    private static ConfigDocument config(Target t, int rps) {
        return ConfigDocument.of(LimitConfig.builder(t)
                .limit(new Limit(io.llmlimiter.client.Resource.REQUESTS, rps, Duration.ofSeconds(1))).build());
    }

    private int rps(Target t) {
        return (int) worker.admin().config(t).orElseThrow().limits().get(0).amount();
    }

    private static ConfigSet file(Path p) {
        return new ConfigFile(p).read().orElseThrow();
    }

    @Test
    void aRedisRestartedFromAnOlderAppendOnlyFileGetsTheNewerConfigsAndDeletionsBack() throws IOException {
        Running a = server(newFile());
        a.server().store().put(config(KEPT, 1), "test");
        a.server().store().put(config(CHANGED, 1), "test");
        a.server().store().put(config(DELETED, 1), "test");
        Path aside = Files.createTempDirectory("llmlim-aof-aside-");
        copyPersistence(redis.workDir(), aside);

        a.server().store().put(config(CHANGED, 2), "test");
        a.server().store().delete(DELETED, "test");
        a.server().store().put(config(CREATED, 3), "test");
        redis.stop();
        clearPersistence(redis.workDir());
        copyPersistence(aside, redis.workDir());
        redis.restart();
        // Redis rolled back: the old configs, the deleted target, no created one.
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
                .untilAsserted(() -> assertThat(rps(CHANGED)).isEqualTo(1));
        assertThat(worker.admin().config(DELETED)).isPresent();
        assertThat(worker.admin().config(CREATED)).isEmpty();

        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
                .until(() -> a.server().reconciler().reconcileOnce() >= 0);

        assertThat(rps(CHANGED)).isEqualTo(2);
        assertThat(rps(KEPT)).isEqualTo(1);
        assertThat(rps(CREATED)).isEqualTo(3);
        assertThat(worker.admin().config(DELETED)).isEmpty();
        ConfigSet onDisk = file(a.file());
        assertThat(onDisk.targets().get(CHANGED).config().limits().get(0).amount()).isEqualTo(2);
        assertThat(onDisk.tombstones()).containsKey(DELETED);
        assertThat(onDisk.targets()).doesNotContainKey(DELETED);
        // A second pass finds both sides in agreement.
        assertThat(a.server().reconciler().reconcileOnce()).isZero();
    }

    @Test
    void aDeletedTargetDoesNotComeBackFromAnotherServersFileNorAfterARestartOfItsOwn() throws IOException {
        Running a = server(newFile());
        Running b = server(newFile());
        a.server().store().put(config(DELETED, 1), "test");
        b.server().reconciler().reconcileOnce();
        a.server().reconciler().reconcileOnce();
        // B's file holds the target as well now? Only the lease holder reconciles: A.
        assertThat(a.server().reconciler().leader()).isTrue();
        assertThat(b.server().reconciler().leader()).isFalse();

        // Deleted through the server that does not reconcile.
        b.server().store().delete(DELETED, "test");
        a.server().reconciler().reconcileOnce();
        assertThat(worker.admin().config(DELETED)).isEmpty();
        assertThat(file(a.file()).tombstones()).containsKey(DELETED);

        // A goes away; B takes over and finds its own deletion, A's file agrees when A comes back.
        a.close();
        running.remove(a);
        b.server().reconciler().reconcileOnce();
        assertThat(b.server().reconciler().leader()).isTrue();
        assertThat(worker.admin().config(DELETED)).isEmpty();
        b.close();
        running.remove(b);
        Running again = server(a.file());
        assertThat(again.server().reconciler().leader()).isTrue();
        assertThat(worker.admin().config(DELETED)).isEmpty();
        assertThat(Files.readString(a.file())).contains("\"deleted\" : true");
    }

    @Test
    void twoServersDoNotUndoEachOthersDeletes() throws IOException {
        Path fileA = newFile();
        Path fileB = newFile();
        Running a = server(fileA);
        a.server().store().put(config(KEPT, 1), "test");
        a.server().store().put(config(DELETED, 1), "test");
        a.server().store().put(config(CHANGED, 1), "test");
        // B starts while both targets exist: its file holds them.
        Running b = server(fileB);
        assertThat(file(fileB).targets()).containsKeys(KEPT, DELETED, CHANGED);

        a.server().store().delete(DELETED, "A");
        b.server().store().delete(CHANGED, "B");
        for (int i = 0; i < 2; i++) {
            a.server().reconciler().reconcileOnce();
            b.server().reconciler().reconcileOnce();
        }
        // The lease moves to B: B's file still held DELETED, A's file still held CHANGED.
        a.close();
        running.remove(a);
        b.server().reconciler().reconcileOnce();
        Running a2 = server(fileA);
        b.close();
        running.remove(b);
        a2.server().reconciler().reconcileOnce();

        assertThat(worker.admin().config(DELETED)).isEmpty();
        assertThat(worker.admin().config(CHANGED)).isEmpty();
        assertThat(worker.admin().config(KEPT)).isPresent();
        assertThat(file(fileA).tombstones()).containsKeys(DELETED, CHANGED);
        assertThat(file(fileB).tombstones()).containsKeys(DELETED, CHANGED);
    }

    @Test
    void aTargetAClientDefaultedAfterItsDeleteIsNotRestoredFromAStaleFile() throws IOException {
        Path fileA = newFile();
        Path fileB = newFile();
        Running a = server(fileA);
        a.server().store().put(config(DELETED, 1), "test");
        Running b = server(fileB);
        a.server().store().delete(DELETED, "A");
        // A worker uses the target again: it writes the default config, marked as such.
        worker.tryAcquire(DELETED, Estimate.requestOnly()).ifPresent(p -> p.close());
        assertThat(worker.admin().config(DELETED).orElseThrow().autoCreated()).isTrue();

        // B, whose file still holds the target, takes over.
        a.close();
        running.remove(a);
        b.server().reconciler().reconcileOnce();

        assertThat(b.server().reconciler().leader()).isTrue();
        assertThat(worker.admin().config(DELETED).orElseThrow().autoCreated()).isTrue();
        assertThat(file(fileB).tombstones()).containsKey(DELETED);
    }

    @Test
    void aLapsedLeaseIsTakenOverByAnotherServer() throws IOException {
        Running a = server(newFile());
        Running b = server(newFile());
        assertThat(a.server().reconciler().leader()).isTrue();
        b.server().reconciler().reconcileOnce();
        assertThat(b.server().reconciler().leader()).isFalse();

        // A stops renewing (as a crashed server would) and its lease runs out.
        raw.sync().pexpire("llmlim:{_default}:reconciler", 1);
        await(() -> raw.sync().exists("llmlim:{_default}:reconciler") == 0);
        b.server().reconciler().reconcileOnce();

        assertThat(b.server().reconciler().leader()).isTrue();
        a.server().reconciler().reconcileOnce();
        assertThat(a.server().reconciler().leader()).isFalse();
    }

    @Test
    void aFileEditedWhileTheServerWasDownIsAdoptedWhereItIsNewer() throws IOException {
        Path fileA = newFile();
        Running a = server(fileA);
        a.server().store().put(config(KEPT, 1), "test");
        a.server().store().put(config(CHANGED, 1), "test");
        a.server().store().put(config(DELETED, 1), "test");
        a.close();
        running.remove(a);
        // Meanwhile another server changes KEPT in Redis.
        Running other = server(newFile());
        other.server().store().put(config(KEPT, 5), "other");
        other.close();
        running.remove(other);

        // Then someone edits A's file by hand: CHANGED to 7, DELETED removed, CREATED added without revision.
        com.fasterxml.jackson.databind.node.ObjectNode json = (com.fasterxml.jackson.databind.node.ObjectNode)
                io.llmlimiter.client.internal.ConfigJson.MAPPER.readTree(Files.readString(fileA));
        ((com.fasterxml.jackson.databind.node.ObjectNode) json.get(CHANGED.toString()).get("limits").get(0))
                .put("amount", 7);
        json.remove(DELETED.toString());
        json.putObject(CREATED.toString()).put("provider", "rev").put("model", "created").put("limits", "requests=9/1s");
        Files.writeString(fileA, json.toPrettyString());
        Files.setLastModifiedTime(fileA, FileTime.from(Instant.now().plusSeconds(1)));

        Running back = server(fileA);

        assertThat(rps(CHANGED)).isEqualTo(7);
        assertThat(rps(CREATED)).isEqualTo(9);
        assertThat(worker.admin().config(DELETED)).isEmpty();
        // The edit did not touch KEPT: the newer change in Redis wins and reaches the file.
        assertThat(rps(KEPT)).isEqualTo(5);
        ConfigSet onDisk = file(back.file());
        assertThat(onDisk.targets().get(KEPT).config().limits().get(0).amount()).isEqualTo(5);
        assertThat(onDisk.tombstones()).containsKey(DELETED);
        assertThat(Files.readString(back.file().resolveSibling("audit.log"))).contains("\"action\":\"file-edit\"");
    }

    @Test
    void anEditOlderThanRedisRevisionLoses() throws IOException {
        Path fileA = newFile();
        Running a = server(fileA);
        a.server().store().put(config(CHANGED, 1), "test");
        a.close();
        running.remove(a);
        String edited = Files.readString(fileA).replace("\"amount\" : 1,", "\"amount\" : 4,");
        Files.writeString(fileA, edited);
        Files.setLastModifiedTime(fileA, FileTime.from(Instant.now().minusSeconds(3600)));
        Running other = server(newFile());
        other.server().store().put(config(CHANGED, 2), "other");
        other.close();
        running.remove(other);

        server(fileA);

        assertThat(rps(CHANGED)).isEqualTo(2);
    }

    @Test
    void changingTheDefaultDoesNotFreezeAutoCreatedTargetsIntoTheFile() throws IOException {
        Running a = server(newFile());
        Target auto = Target.parse("auto/made");
        worker.tryAcquire(auto, Estimate.requestOnly()).ifPresent(p -> p.close());
        assertThat(worker.admin().config(auto).orElseThrow().autoCreated()).isTrue();

        a.server().store().putDefault(config(ConfigSet.DEFAULT_TARGET, 42), "test");
        a.server().reconciler().reconcileOnce();

        assertThat(file(a.file()).targets()).doesNotContainKey(auto);
        assertThat(Files.readString(a.file())).doesNotContain("auto/made");
        assertThat(worker.admin().config(auto).orElseThrow().autoCreated()).isTrue();
        assertThat(file(a.file()).defaultConfig().config().limits().get(0).amount()).isEqualTo(42);
    }

    @Test
    void aClientsDefaultNeverOverridesTheFile() throws IOException {
        Running a = server(newFile());
        a.server().store().put(config(KEPT, 3), "test");
        raw.sync().del("llmlim:{rev/kept}:cfg", "llmlim:{rev/kept}:rev");
        worker.tryAcquire(KEPT, Estimate.requestOnly()).ifPresent(p -> p.close());
        assertThat(worker.admin().config(KEPT).orElseThrow().autoCreated()).isTrue();

        a.server().reconciler().reconcileOnce();

        assertThat(rps(KEPT)).isEqualTo(3);
        assertThat(file(a.file()).targets().get(KEPT).autoCreated()).isFalse();
    }

    @Test
    void revisionsAreInRedisAndTheFileAndGrowWithEveryChange() throws IOException {
        Running a = server(newFile());
        a.server().store().put(config(CHANGED, 1), "test");
        long first = Long.parseLong(raw.sync().hget("llmlim:{rev/changed}:rev", "rev"));
        a.server().store().put(config(CHANGED, 2), "test");
        long second = Long.parseLong(raw.sync().hget("llmlim:{rev/changed}:rev", "rev"));

        assertThat(second).isGreaterThan(first);
        Stamp onDisk = file(a.file()).stamp(CHANGED.toString());
        assertThat(onDisk.revision()).isEqualTo(second);
        assertThat(raw.sync().hget("llmlim:{rev/changed}:rev", "updated_ms")).isEqualTo(Long.toString(onDisk.updatedMs()));
        assertThat(Files.readString(a.file())).contains("\"revision\" : " + second).contains("\"updated_at\"");
    }

    private static void await(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 5 s");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Copies the append-only file(s) (Redis 7: appendonlydir, 6.2: appendonly.aof). */
    private static void copyPersistence(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                Path rel = from.relativize(p);
                if (rel.toString().startsWith("appendonly")) {
                    Files.createDirectories(to.resolve(rel).getParent());
                    Files.copy(p, to.resolve(rel), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void clearPersistence(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir) && dir.relativize(p).toString().startsWith("appendonly")) {
                    Files.delete(p);
                }
            }
        }
    }
}
