package io.llmlimiter.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Sanity tests for {@link RedisSentinelSetup} and {@link SentinelProcess}. */
class RedisSentinelSetupTest {

    private RedisSentinelSetup setup;
    private ClientResources resources;
    private RedisClient client;

    @BeforeEach
    void startSetup() {
        setup = RedisSentinelSetup.start();
        // A short, constant reconnect delay: Lettuce's default backoff can sleep ~8 s past a failover.
        resources = DefaultClientResources.builder().reconnectDelay(Delay.constant(Duration.ofMillis(200))).build();
    }

    @AfterEach
    void stopSetup() {
        try {
            if (client != null) {
                client.shutdown(0, 2, TimeUnit.SECONDS);
            }
            resources.shutdown(0, 2, TimeUnit.SECONDS);
        } finally {
            setup.close();
        }
    }

    @Test
    void theSentinelUriNamesAllSentinelsAndTheMasterAndLettuceParsesIt() {
        RedisURI uri = RedisURI.create(setup.sentinelUri());

        assertThat(uri.getSentinelMasterId()).isEqualTo(RedisSentinelSetup.MASTER_NAME);
        assertThat(uri.getSentinels()).extracting(RedisURI::getPort).containsExactlyElementsOf(
                setup.sentinels().stream().map(SentinelProcess::port).toList());
        assertThat(setup.sentinelUri()).startsWith("redis-sentinel://127.0.0.1:").endsWith("#mymaster");
        assertThat(setup.currentMasterPort()).isEqualTo(setup.master().port());
        assertThat(RedisWire.info(setup.replica().port(), "replication", "role")).isEqualTo("slave");
    }

    @Test
    void aLettuceClientKeepsWritingThroughTheSentinelsAfterTheMasterIsKilled() {
        RedisURI uri = RedisURI.create(setup.sentinelUri());
        uri.setTimeout(Duration.ofSeconds(2));
        client = RedisClient.create(resources, uri);
        StatefulRedisConnection<String, String> connection = client.connect();
        RedisCommands<String, String> commands = connection.sync();
        assertThat(commands.set("before", "1")).isEqualTo("OK");
        assertThat(commands.waitForReplication(1, 5000)).isEqualTo(1L);

        setup.killMaster();
        int newMaster = setup.awaitFailover(Duration.ofSeconds(20));

        assertThat(newMaster).isEqualTo(setup.replica().port());
        assertThat(setup.currentMaster()).isSameAs(setup.replica());
        await("the same connection to write to the promoted replica")
                .atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptions()
                .untilAsserted(() -> assertThat(commands.set("after", "2")).isEqualTo("OK"));
        assertThat(commands.get("before")).isEqualTo("1");
        assertThat(RedisWire.text(newMaster, "GET", "after")).isEqualTo("2");
        assertThat(List.of(setup.master().isRunning(), setup.replica().isRunning())).containsExactly(false, true);
    }
}
