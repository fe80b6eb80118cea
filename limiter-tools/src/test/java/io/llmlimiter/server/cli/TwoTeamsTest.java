package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/**
 * The demo's two teams on one key, on a real Redis and the mock provider: a batch flood from ten
 * limiter clients and interactive chat calls one at a time, without and with fair share.
 */
@WithRedis
class TwoTeamsTest {

    @Test
    void withFairShareTheInteractiveCallsGoBeforeTheFloodAndBothTeamsAreServedWithoutA429(RedisProcess redis)
            throws Exception {
        StringWriter text = new StringWriter();
        PrintWriter out = new PrintWriter(text, true);
        JsonNode s;
        try (DemoEnvironment env = DemoEnvironment.start(redis.uri(), 0, DemoCommand.DEMO_PROVIDER)) {
            s = new TwoTeams(env, new SeedDemos(env, out), out).run();
        }

        String printed = text.toString();
        String all = printed + s.toPrettyString();
        assertThat(printed).contains("Two teams, one key").contains("chat wait p50").contains("provider 429s")
                .contains("without fair share (arrival order)").contains("fair share, chat interactive")
                .contains("\"fair_share\":");
        for (String run : new String[] {"without_fair_share", "with_fair_share"}) {
            JsonNode r = s.path(run);
            assertThat(r.path("batch_admitted").asLong()).as(all).isPositive();
            assertThat(r.path("chat_admitted").asLong()).as(all).isPositive();
            assertThat(r.path("chat_share").asDouble()).as(all).isPositive();
            assertThat(r.path("provider_429").asLong()).as(all).isZero();
            assertThat(r.path("failed").asLong()).as(all).isZero();
        }
        JsonNode without = s.path("without_fair_share");
        JsonNode with = s.path("with_fair_share");
        // In arrival order a chat call waits behind the ticket of every flooding worker that waits;
        // with fair share its class goes first, so at most a call already being admitted passes it.
        assertThat(with.path("batch_ahead_p50").asLong()).as(all).isLessThanOrEqualTo(1)
                .isLessThan(without.path("batch_ahead_p50").asLong());
        // Behind twelve tickets a chat call waits for two or three windows of 4 calls, however fast
        // the machine; going first, for the next window at most.
        assertThat(with.path("chat_wait_p50_seconds").asDouble()).as(all)
                .isLessThan(without.path("chat_wait_p50_seconds").asDouble());
    }
}
