package io.llmlimiter.testing;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A throwaway Redis Cluster of real {@code redis-server} processes on loopback: N masters, no
 * replicas, the 16384 slots split evenly in node order (node 0 gets the lowest slots).
 *
 * <p>Each node is a {@link RedisProcess} started with {@code --cluster-enabled yes}, a
 * {@code nodes.conf} in its own working directory and {@code --cluster-node-timeout 2000}, so a node
 * can be {@link RedisProcess#kill() killed} and {@link RedisProcess#restart() restarted} and rejoins
 * with its identity and slots. {@link #start} returns only once every node reports
 * {@code cluster_state:ok} and knows every other node.
 *
 * <p>Needs a local backend ({@code PATH} or {@code EMBEDDED}): nodes announce {@code 127.0.0.1} to
 * each other. Slot ownership is what {@link #start} assigned; tests that migrate slots must not rely on
 * {@link #nodeForSlot(int)} afterwards. This class is thread-safe for reading.
 */
public final class RedisClusterProcess implements AutoCloseable {

    /** Number of masters started by {@link #start()}. */
    public static final int DEFAULT_MASTERS = 3;

    private static final int SLOTS = SlotHash.SLOT_COUNT;
    private static final String HOST = "127.0.0.1";
    // A master waits ~2 s (CLUSTER_WRITABLE_DELAY) before it first turns ok; gossip adds a little.
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final List<RedisProcess> nodes;
    private final int[] firstSlot;

    private RedisClusterProcess(List<RedisProcess> nodes) {
        this.nodes = Collections.unmodifiableList(nodes);
        this.firstSlot = new int[nodes.size()];
        for (int i = 0; i < nodes.size(); i++) {
            firstSlot[i] = i * SLOTS / nodes.size();
        }
    }

    /**
     * Starts a cluster of {@value #DEFAULT_MASTERS} masters and waits until it is healthy.
     *
     * @return the running cluster
     * @throws IllegalStateException if a node did not start or the cluster did not become ok
     */
    public static RedisClusterProcess start() {
        return start(DEFAULT_MASTERS);
    }

    /**
     * Starts a cluster of {@code masters} masters and waits until it is healthy.
     *
     * @param masters how many masters, at least 1
     * @param extraArgs further {@code redis-server} arguments for every node, as for
     *     {@link RedisProcess#start(String...)}; the cluster options are added here
     * @return the running cluster
     * @throws IllegalArgumentException if {@code masters} is below 1
     * @throws IllegalStateException if a node did not start or the cluster did not become ok
     */
    public static RedisClusterProcess start(int masters, String... extraArgs) {
        if (masters < 1) {
            throw new IllegalArgumentException("A cluster needs at least one master, got " + masters);
        }
        List<String> args = new ArrayList<>(List.of(
                // Relative to --dir, which RedisProcess sets to the node's own working directory.
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000"));
        args.addAll(List.of(extraArgs));
        RedisProcess.Backend backend = RedisProcess.chooseBackend();
        if (backend == RedisProcess.Backend.DOCKER) {
            // Nodes gossip 127.0.0.1 addresses, which inside a container point at the container itself.
            throw new IllegalStateException("RedisClusterProcess needs a local redis-server (PATH or EMBEDDED "
                    + "backend), not " + backend);
        }
        List<RedisProcess> nodes = new ArrayList<>();
        try {
            for (int i = 0; i < masters; i++) {
                nodes.add(RedisProcess.start(backend, args.toArray(String[]::new)));
            }
            RedisClusterProcess cluster = new RedisClusterProcess(nodes);
            cluster.form();
            return cluster;
        } catch (RuntimeException | Error e) {
            for (RedisProcess node : nodes) {
                try {
                    node.close();
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    private void form() {
        for (int i = 0; i < nodes.size(); i++) {
            int port = nodes.get(i).port();
            // Distinct epochs up front (as redis-cli --cluster create does) avoid a collision round.
            RedisWire.call(port, "CLUSTER", "SET-CONFIG-EPOCH", String.valueOf(i + 1));
            addSlots(port, firstSlot[i], lastSlot(i));
        }
        int seed = nodes.get(0).port();
        for (int i = 1; i < nodes.size(); i++) {
            RedisWire.call(nodes.get(i).port(), "CLUSTER", "MEET", HOST, String.valueOf(seed));
        }
        awaitClusterOk(READY_TIMEOUT);
    }

    /**
     * Waits until every node is running, reports {@code cluster_state:ok} with all slots served,
     * and sees every other node as a connected, non-failing member; useful after restarting a node.
     *
     * @param timeout how long to wait
     * @throws org.awaitility.core.ConditionTimeoutException with the last observed state on timeout
     */
    public void awaitClusterOk(Duration timeout) {
        await("cluster of " + nodes.size() + " masters to be ok on every node")
                .atMost(timeout)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(java.io.UncheckedIOException.class)
                .untilAsserted(() -> {
                    for (RedisProcess node : nodes) {
                        String info = RedisWire.text(node.port(), "CLUSTER", "INFO");
                        assertThat(RedisWire.field(info, "cluster_state")).as("state on %s", node).isEqualTo("ok");
                        assertThat(RedisWire.field(info, "cluster_slots_ok")).as("slots ok on %s", node)
                                .isEqualTo(String.valueOf(SLOTS));
                        assertThat(RedisWire.field(info, "cluster_known_nodes")).as("known nodes on %s", node)
                                .isEqualTo(String.valueOf(nodes.size()));
                        String view = RedisWire.text(node.port(), "CLUSTER", "NODES");
                        for (String line : view.split("\n")) {
                            assertThat(line).as("node view of %s", node)
                                    .contains(" connected").doesNotContain("handshake", "fail", "noaddr");
                        }
                    }
                });
    }

    /**
     * The seed URIs of all masters, for example {@code redis://127.0.0.1:21234}, in node order.
     *
     * @return one URI per node
     */
    public List<String> uris() {
        return nodes.stream().map(RedisProcess::uri).collect(Collectors.toUnmodifiableList());
    }

    /**
     * All nodes in one URI, as the limiter client accepts it:
     * {@code redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3}.
     *
     * @return the cluster URI
     */
    public String clusterUri() {
        return "redis-cluster://" + nodes.stream().map(n -> n.host() + ":" + n.port())
                .collect(Collectors.joining(","));
    }

    /**
     * The node processes, in node (and slot) order.
     *
     * @return an unmodifiable list
     */
    public List<RedisProcess> nodes() {
        return nodes;
    }

    /**
     * The master that was assigned a slot at start.
     *
     * @param slot the slot, 0-16383
     * @return the node owning it
     * @throws IllegalArgumentException if the slot is out of range
     */
    public RedisProcess nodeForSlot(int slot) {
        if (slot < 0 || slot >= SLOTS) {
            throw new IllegalArgumentException("Slot " + slot + " is not in 0-" + (SLOTS - 1));
        }
        for (int i = nodes.size() - 1; i >= 0; i--) {
            if (slot >= firstSlot[i]) {
                return nodes.get(i);
            }
        }
        throw new IllegalStateException("No node for slot " + slot);
    }

    /**
     * The master serving a key, by its hash slot (hash tags honoured).
     *
     * @param key the key
     * @return that node
     */
    public RedisProcess nodeForKey(String key) {
        return nodeForSlot(SlotHash.getSlot(key));
    }

    /**
     * The port of the master serving a key, by its hash slot (hash tags honoured).
     *
     * @param key the key
     * @return that node's port
     */
    public int portForKey(String key) {
        return nodeForKey(key).port();
    }

    /** Stops every node and deletes their files. Idempotent. */
    @Override
    public void close() {
        RuntimeException failure = null;
        for (RedisProcess node : nodes) {
            try {
                node.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Describes the cluster for test output.
     *
     * @return the cluster URI
     */
    @Override
    public String toString() {
        return "RedisClusterProcess[" + clusterUri() + "]";
    }

    private static void addSlots(int port, int first, int last) {
        try {
            RedisWire.call(port, "CLUSTER", "ADDSLOTSRANGE", String.valueOf(first), String.valueOf(last));
        } catch (RedisWire.ErrorReply e) {
            // ADDSLOTSRANGE is Redis 7+; older servers (the embedded backend) need every slot listed.
            List<String> command = new ArrayList<>(List.of("CLUSTER", "ADDSLOTS"));
            for (int slot = first; slot <= last; slot++) {
                command.add(String.valueOf(slot));
            }
            RedisWire.call(port, command.toArray(String[]::new));
        }
    }

    private int lastSlot(int node) {
        return node == nodes.size() - 1 ? SLOTS - 1 : firstSlot[node + 1] - 1;
    }
}
