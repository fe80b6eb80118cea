package io.llmlimiter.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A throwaway Redis Sentinel deployment on loopback: one master, one replica and three sentinels
 * monitoring the master as {@value #MASTER_NAME} with quorum 2, {@code down-after-milliseconds 1000},
 * {@code failover-timeout 3000} and {@code parallel-syncs 1}, so a failover completes in a few seconds.
 *
 * <p>{@link #start()} returns once the replica is in sync and every sentinel names the master, knows
 * the replica and knows the two other sentinels, so a killed master is failed over at once. The data
 * nodes are {@link RedisProcess}es (local backend only: sentinels and replicas exchange
 * {@code 127.0.0.1} addresses); the sentinels are {@link SentinelProcess}es.
 *
 * <p>This class is thread-safe.
 */
public final class RedisSentinelSetup implements AutoCloseable {

    /** The name the sentinels monitor the master under. */
    public static final String MASTER_NAME = "mymaster";

    private static final int SENTINELS = 3;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final RedisProcess master;
    private final RedisProcess replica;
    private final List<SentinelProcess> sentinels;
    // The port that was master when killMaster() last ran; awaitFailover() waits for another one.
    private volatile int failedMasterPort;

    private RedisSentinelSetup(RedisProcess master, RedisProcess replica, List<SentinelProcess> sentinels) {
        this.master = master;
        this.replica = replica;
        this.sentinels = List.copyOf(sentinels);
        this.failedMasterPort = master.port();
    }

    /**
     * Starts master, replica and three sentinels and waits until they all agree.
     *
     * @return the running setup
     * @throws IllegalStateException if a process did not start or the setup did not settle in 30 s
     */
    public static RedisSentinelSetup start() {
        RedisProcess.Backend backend = RedisProcess.chooseBackend();
        if (backend == RedisProcess.Backend.DOCKER) {
            throw new IllegalStateException("RedisSentinelSetup needs a local redis-server (PATH or EMBEDDED "
                    + "backend), not " + backend);
        }
        List<AutoCloseable> started = new ArrayList<>();
        try {
            RedisProcess master = RedisProcess.start(backend);
            started.add(master);
            RedisProcess replica = RedisProcess.start(backend, "--replicaof", "127.0.0.1",
                    String.valueOf(master.port()));
            started.add(replica);
            List<String> config = List.of(
                    "sentinel monitor " + MASTER_NAME + " 127.0.0.1 " + master.port() + " 2",
                    "sentinel down-after-milliseconds " + MASTER_NAME + " 1000",
                    "sentinel failover-timeout " + MASTER_NAME + " 3000",
                    "sentinel parallel-syncs " + MASTER_NAME + " 1");
            List<SentinelProcess> sentinels = new ArrayList<>();
            for (int i = 0; i < SENTINELS; i++) {
                SentinelProcess sentinel = SentinelProcess.start(master.executable().orElseThrow(), config);
                started.add(sentinel);
                sentinels.add(sentinel);
            }
            RedisSentinelSetup setup = new RedisSentinelSetup(master, replica, sentinels);
            setup.awaitSettled();
            return setup;
        } catch (RuntimeException | Error e) {
            for (int i = started.size() - 1; i >= 0; i--) {
                try {
                    started.get(i).close();
                } catch (Exception cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    private void awaitSettled() {
        await("replica in sync and all sentinels agreeing on " + this)
                .atMost(READY_TIMEOUT)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .untilAsserted(() -> {
                    assertThat(RedisWire.info(replica.port(), "replication", "master_link_status"))
                            .as("replica link").isEqualTo("up");
                    assertThat(RedisWire.info(master.port(), "replication", "slave0"))
                            .as("replica seen by master").contains("port=" + replica.port(), "state=online");
                    for (SentinelProcess sentinel : sentinels) {
                        assertThat(masterPortSeenBy(sentinel)).as("master named by %s", sentinel)
                                .isEqualTo(master.port());
                        List<Map<String, String>> replicas = entries(sentinel, "REPLICAS");
                        assertThat(replicas).as("replicas known to %s", sentinel).hasSize(1);
                        assertThat(replicas.get(0)).as("replica known to %s", sentinel)
                                .containsEntry("port", String.valueOf(replica.port()))
                                .containsEntry("flags", "slave");
                        assertThat(entries(sentinel, "SENTINELS")).as("peers known to %s", sentinel)
                                .hasSize(SENTINELS - 1);
                    }
                });
    }

    /**
     * The sentinel URI Lettuce understands, naming all three sentinels and the master name:
     * {@code redis-sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3#mymaster}.
     *
     * @return the URI
     */
    public String sentinelUri() {
        return "redis-sentinel://" + sentinels.stream().map(SentinelProcess::address)
                .collect(Collectors.joining(",")) + "#" + MASTER_NAME;
    }

    /**
     * The server that was master at start (after a failover it is dead or a replica).
     *
     * @return the original master
     */
    public RedisProcess master() {
        return master;
    }

    /**
     * The server that was the replica at start (after a failover it is the master).
     *
     * @return the original replica
     */
    public RedisProcess replica() {
        return replica;
    }

    /**
     * The three sentinels.
     *
     * @return an unmodifiable list
     */
    public List<SentinelProcess> sentinels() {
        return sentinels;
    }

    /**
     * The master port named by the first sentinel that answers {@code SENTINEL get-master-addr-by-name}.
     *
     * @return the port
     * @throws IllegalStateException if no sentinel answers
     */
    public int currentMasterPort() {
        IllegalStateException failure = new IllegalStateException("No sentinel answered for " + MASTER_NAME);
        for (SentinelProcess sentinel : sentinels) {
            try {
                return masterPortSeenBy(sentinel);
            } catch (RuntimeException e) {
                failure.addSuppressed(e);
            }
        }
        throw failure;
    }

    /**
     * The data node the sentinels currently name as master.
     *
     * @return {@link #master()} or {@link #replica()}
     */
    public RedisProcess currentMaster() {
        return currentMasterPort() == replica.port() ? replica : master;
    }

    /**
     * Kills the current master with SIGKILL, as a crash would, and remembers its port for
     * {@link #awaitFailover(Duration)}.
     */
    public void killMaster() {
        RedisProcess victim = currentMaster();
        failedMasterPort = victim.port();
        victim.kill();
    }

    /**
     * Waits until every running sentinel names a master other than the one last killed by
     * {@link #killMaster()} (or the original master) and that server reports {@code role:master}.
     *
     * @param timeout how long to wait
     * @return the port of the new master
     * @throws org.awaitility.core.ConditionTimeoutException if no failover completed in time
     */
    public int awaitFailover(Duration timeout) {
        int failed = failedMasterPort;
        return await("sentinels to promote a new master instead of port " + failed)
                .atMost(timeout)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .until(() -> {
                    List<Integer> named = new ArrayList<>();
                    for (SentinelProcess sentinel : sentinels) {
                        if (sentinel.isRunning()) {
                            named.add(masterPortSeenBy(sentinel));
                        }
                    }
                    boolean agreed = !named.isEmpty() && named.stream().distinct().count() == 1
                            && named.get(0) != failed
                            && "master".equals(RedisWire.info(named.get(0), "replication", "role"));
                    return agreed ? named.get(0) : null;
                }, port -> port != null);
    }

    /** Stops the sentinels first (so they cannot react), then both servers, and deletes all files. */
    @Override
    public void close() {
        List<AutoCloseable> all = new ArrayList<>(sentinels);
        all.add(replica);
        all.add(master);
        RuntimeException failure = null;
        for (AutoCloseable process : all) {
            try {
                process.close();
            } catch (Exception e) {
                RuntimeException wrapped = e instanceof RuntimeException ? (RuntimeException) e
                        : new IllegalStateException(e);
                if (failure == null) {
                    failure = wrapped;
                } else {
                    failure.addSuppressed(wrapped);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Describes the setup for test output.
     *
     * @return master, replica and sentinel URI
     */
    @Override
    public String toString() {
        return "RedisSentinelSetup[master=" + master.port() + ", replica=" + replica.port() + ", "
                + sentinelUri() + "]";
    }

    private static int masterPortSeenBy(SentinelProcess sentinel) {
        List<?> address = (List<?>) RedisWire.call(sentinel.port(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                MASTER_NAME);
        return Integer.parseInt((String) address.get(1));
    }

    /** Decodes SENTINEL REPLICAS / SENTINELS, whose entries are flat field-value lists in RESP2. */
    private static List<Map<String, String>> entries(SentinelProcess sentinel, String what) {
        List<Map<String, String>> result = new ArrayList<>();
        for (Object entry : (List<?>) RedisWire.call(sentinel.port(), "SENTINEL", what, MASTER_NAME)) {
            List<?> fields = (List<?>) entry;
            Map<String, String> map = new HashMap<>();
            for (int i = 0; i + 1 < fields.size(); i += 2) {
                map.put((String) fields.get(i), (String) fields.get(i + 1));
            }
            result.add(map);
        }
        return result;
    }
}
