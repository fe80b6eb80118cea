package io.llmlimiter.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Sanity tests for {@link RedisClusterProcess}. */
class RedisClusterProcessTest {

    private static RedisClusterProcess cluster;
    private static RedisClusterClient client;
    private static StatefulRedisClusterConnection<String, String> connection;

    @BeforeAll
    static void startCluster() {
        cluster = RedisClusterProcess.start();
        List<RedisURI> seeds = cluster.uris().stream().map(uri -> {
            RedisURI seed = RedisURI.create(uri);
            seed.setTimeout(Duration.ofSeconds(5));
            return seed;
        }).collect(Collectors.toList());
        client = RedisClusterClient.create(seeds);
        connection = client.connect();
    }

    @AfterAll
    static void stopCluster() {
        try {
            if (connection != null) {
                connection.close();
            }
            if (client != null) {
                client.shutdown(0, 2, TimeUnit.SECONDS);
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    @Test
    void theClusterExposesItsMastersAsUrisAndAsOneClusterUri() {
        List<RedisProcess> nodes = cluster.nodes();
        assertThat(nodes).hasSize(RedisClusterProcess.DEFAULT_MASTERS).allMatch(RedisProcess::isRunning);
        assertThat(nodes).extracting(RedisProcess::port).doesNotContain(6379).doesNotHaveDuplicates();
        assertThat(cluster.uris()).containsExactly(nodes.stream().map(n -> "redis://127.0.0.1:" + n.port())
                .toArray(String[]::new));
        assertThat(cluster.clusterUri()).isEqualTo("redis-cluster://" + nodes.stream()
                .map(n -> "127.0.0.1:" + n.port()).collect(Collectors.joining(",")));
    }

    @Test
    void everyNodeAgreesWithTheSlotMapTheHelperReports() {
        for (RedisProcess node : cluster.nodes()) {
            for (int slot : new int[] {0, 5000, 5461, 5462, 10922, 10923, 16383}) {
                assertThat(ownerPort(node.port(), slot)).as("slot %d seen from %s", slot, node)
                        .isEqualTo(cluster.nodeForSlot(slot).port());
            }
        }
        assertThatThrownBy(() -> cluster.nodeForSlot(16384)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aLettuceClusterClientWritesAndReadsKeysOnEveryMaster() {
        RedisAdvancedClusterCommands<String, String> commands = connection.sync();
        Map<Integer, String> keyPerPort = new LinkedHashMap<>();
        for (int i = 0; keyPerPort.size() < cluster.nodes().size(); i++) {
            keyPerPort.putIfAbsent(cluster.portForKey("key-" + i), "key-" + i);
        }
        for (Map.Entry<Integer, String> entry : keyPerPort.entrySet()) {
            String key = entry.getValue();
            assertThat(commands.set(key, "value-of-" + key)).isEqualTo("OK");
            assertThat(commands.get(key)).isEqualTo("value-of-" + key);
            // The key really lives on the node the helper named.
            assertThat(RedisWire.text(entry.getKey(), "GET", key)).isEqualTo("value-of-" + key);
        }
        assertThat(keyPerPort.keySet()).containsExactlyInAnyOrderElementsOf(
                cluster.nodes().stream().map(RedisProcess::port).collect(Collectors.toList()));
    }

    @Test
    void aScriptTouchingTwoKeysWithTheSameHashTagRunsOnTheirNode() {
        String first = "llmlim:{openai/gpt-4o}:cfg";
        String second = "llmlim:{openai/gpt-4o}:st";
        assertThat(SlotHash.getSlot(first)).isEqualTo(SlotHash.getSlot(second));
        String script = "redis.call('SET', KEYS[1], ARGV[1]) "
                + "redis.call('SET', KEYS[2], ARGV[1] .. '-2') "
                + "return redis.call('GET', KEYS[2])";

        String reply = connection.sync().eval(script, ScriptOutputType.VALUE, new String[] {first, second}, "v");

        assertThat(reply).isEqualTo("v-2");
        int port = cluster.portForKey(first);
        assertThat(RedisWire.text(port, "GET", first)).isEqualTo("v");
        assertThat(RedisWire.text(port, "GET", second)).isEqualTo("v-2");
    }

    private static int ownerPort(int askPort, int slot) {
        for (Object shard : (List<?>) RedisWire.call(askPort, "CLUSTER", "SLOTS")) {
            List<?> range = (List<?>) shard;
            if ((Long) range.get(0) <= slot && slot <= (Long) range.get(1)) {
                return ((Long) ((List<?>) range.get(2)).get(1)).intValue();
            }
        }
        throw new AssertionError("Slot " + slot + " is not served according to port " + askPort);
    }
}
