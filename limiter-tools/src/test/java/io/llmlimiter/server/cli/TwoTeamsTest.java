package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
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

    @Test
    void theVerdictSaysSoWhenFairShareDidNotShortenTheWait() {
        TwoTeams.Run without =
                new TwoTeams.Run("without", 30, 3, 0, List.of(0.4, 0.5, 0.6), List.of(2L, 3L, 3L), 0, 8, 4);
        TwoTeams.Run slower = new TwoTeams.Run("with", 27, 3, 0, List.of(0.7, 0.8, 0.9), List.of(0L, 0L, 1L), 0, 8, 4);
        TwoTeams.Run faster = new TwoTeams.Run("with", 24, 6, 1, List.of(0.1, 0.2, 0.3), List.of(0L, 0L, 0L), 2, 8, 4);

        assertThat(TwoTeams.verdict(without, slower)).startsWith("Chat's wait did not improve on this run")
                .contains("500 ms (p50, max 600 ms) without fair share and 800 ms (p50, max 900 ms) with it")
                .contains("batch-team kept 90% of the calls, with 0 provider 429s in all.");
        assertThat(TwoTeams.verdict(without, faster))
                .startsWith("The interactive calls no longer queue behind the flood")
                .contains("batch-team kept 80% of the calls, with 2 provider 429s in all. 1 call failed.");
        assertThat(TwoTeams.table(without, faster)).contains("20%").contains("200 ms").contains("300 ms");
    }
}
