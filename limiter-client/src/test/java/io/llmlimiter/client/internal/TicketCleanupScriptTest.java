package io.llmlimiter.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.FairShare;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TenantUsage;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * A ticket that leaves the line leaves nothing behind: on a target that shares fairly, the
 * ticket's tenant record (tenants.lua, {@code k:<ticket>}) goes with it, so the admin view does not
 * count it as waiting and the tenants hash does not grow with callers that came and went.
 */
@Tag("redis-features")
@WithRedis
class TicketCleanupScriptTest {

    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final long NOW_MS = 1_000_000;
    private final RedisProcess redis;
    private ScriptHarness h;

    TicketCleanupScriptTest(RedisProcess redis) {
        this.redis = redis;
    }

    @BeforeEach
    void connect(TestInfo info) {
        h = new ScriptHarness(redis.uri(), new Target("cleanup", info.getTestMethod().orElseThrow().getName()
                + SEQ.incrementAndGet()));
        h.config(LimitConfig.builder(h.target).limits("requests=1/1s").deliveryMargin(Duration.ZERO)
                .fairShare(FairShare.builder().build()).build());
    }

    @AfterEach
    void close() {
        h.close();
    }

    private long tenantRecords() {
        return h.redis().hkeys(h.keys.tenants()).stream().filter(f -> f.startsWith("k:")).count();
    }

    private long waiting() {
        return RedisAdmin.tenantUsage(h.redis().hgetall(h.keys.tenants()), FairShare.builder().build()).stream()
                .mapToLong(TenantUsage::waiting).sum();
    }

    @Test
    void aCancelThatDropsLapsedTicketsAheadOfItDropsTheirTenantRecordsToo() {
        assertThat(h.acquireAs("p0.a", 10, NOW_MS, true, "a", "interactive").get(0)).isEqualTo(1L);
        // Two callers wait (tickets live 3 s past their last attempt); the first then vanishes.
        assertThat(h.acquireAs("p1.b", 10, NOW_MS + 100, true, "b", "interactive").get(0)).isEqualTo(0L);
        assertThat(h.acquireAs("p2.c", 10, NOW_MS + 200, true, "c", "interactive").get(0)).isEqualTo(0L);
        assertThat(tenantRecords()).isEqualTo(2);
        assertThat(waiting()).isEqualTo(2);

        // Long after both tickets lapsed, the second gives up: its cancel sweeps the first one's lapsed ticket.
        assertThat(h.cancel("p2.c", NOW_MS + 10_000)).isEqualTo(1L);

        assertThat(h.redis().zcard(h.keys.keys()[5])).isZero();
        assertThat(tenantRecords()).isZero();
        assertThat(waiting()).isZero();
    }
}
