package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The demo end to end, as a new user runs it but smaller: its own Redis, the mock provider and the
 * admin server, the four demos, two teams on one key without and with fair share, and the comparison
 * from three worker JVMs.
 */
class DemoCommandTest {

    @Test
    void runsTheFourDemosTheTwoTeamsAndTheComparisonAndSummarizesThemAsJson() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new DemoCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));

        int code = cl.execute("--calls", "40", "--json");

        assertThat(code).as(err.toString()).isZero();
        JsonNode s = CliSupport.JSON.readTree(out.toString());
        assertThat(s.path("dashboard").asText()).startsWith("http://127.0.0.1:");
        assertThat(s.path("admin_token").asText()).hasSizeGreaterThanOrEqualTo(16);

        JsonNode demos = s.path("demos");
        String all = s.toPrettyString();
        assertThat(demos.at("/basic/succeeded").asInt()).isEqualTo(10);
        assertThat(demos.at("/concurrent/succeeded").asInt()).isEqualTo(20);
        assertThat(demos.at("/concurrent/provider_429").asInt()).isZero();
        assertThat(demos.at("/concurrent/max_requests_in_any_second").asInt()).isLessThanOrEqualTo(10);
        assertThat(demos.at("/concurrent/max_concurrent_seen").asInt()).isLessThanOrEqualTo(4);
        assertThat(demos.at("/retry/succeeded").asBoolean()).isTrue();
        assertThat(demos.at("/retry/retries").asInt()).isEqualTo(2);
        // The provider's Retry-After (1 s) is a floor for every wait.
        demos.at("/retry/waits_seconds").forEach(w -> assertThat(w.asDouble()).isGreaterThanOrEqualTo(0.95));
        double before = demos.at("/live_config/before/calls_per_second").asDouble();
        double after = demos.at("/live_config/after/calls_per_second").asDouble();
        assertThat(before).as(all).isBetween(2.0, 3.5);
        // 8 a second unless the machine is busy; never above the new limit.
        assertThat(after).as(all).isGreaterThan(1.5 * before).isLessThanOrEqualTo(8.5);

        for (String run : new String[] {"without_fair_share", "with_fair_share"}) {
            JsonNode r = s.path("two_teams").path(run);
            assertThat(r.path("batch_admitted").asLong()).as(all).isPositive();
            assertThat(r.path("chat_admitted").asLong()).as(all).isPositive();
            assertThat(r.path("provider_429").asLong()).as(all).isZero();
        }

        JsonNode limiter = s.at("/comparison/limiter");
        assertThat(limiter.path("succeeded").asInt()).as(limiter.toPrettyString()).isEqualTo(40);
        assertThat(limiter.path("provider_429").asInt()).as(limiter.toPrettyString()).isZero();
        assertThat(limiter.path("processes").asInt()).isEqualTo(3);
        assertThat(s.at("/comparison/naive/provider_429").asInt()).isPositive();
        assertThat(err.toString()).contains("[naive]").contains("[limiter]");
    }
}
