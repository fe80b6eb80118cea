package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.testing.RedisClusterProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.RedisWire;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The behaviour suite against a real local Redis Cluster of three masters. */
@Tag("redis-features")
class ClusterLimiterTest extends LimiterBehaviourSuite {

    private final RedisClusterProcess cluster = RedisClusterProcess.start();

    @AfterAll
    void stopCluster() {
        cluster.close();
    }

    @Override
    protected String redisUri() {
        return cluster.clusterUri();
    }

    @Override
    protected void scriptFlush() {
        for (RedisProcess node : cluster.nodes()) {
            RedisWire.call(node.port(), "SCRIPT", "FLUSH");
        }
    }

    @Test
    void targetsSpreadOverEveryMasterAndEachWorksOnItsOwnSlot() {
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 12; i++) {
            Target t = configured("requests=2/10s,tokens=100/10s", 1, Duration.ofSeconds(10));
            ports.add(cluster.portForKey("llmlim:{" + t + "}:cfg"));
            try (Permit p = limiter.acquire(t, Estimate.tokens(60), Duration.ofSeconds(1))) {
                p.complete(Usage.of(10, 10));
            }
            assertThat(limiter.tryAcquire(t, Estimate.tokens(60))).isEmpty();
        }
        assertThat(ports).hasSize(3);
        assertThat(limiter.admin().targets()).hasSizeGreaterThanOrEqualTo(12);
    }
}
