package io.llmlimiter.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RedisStatsTest {

    private static RedisStats reading(String sys, String user, long total, long evalshaCalls, long evalshaUsec) {
        return RedisStats.parse("# CPU\r\nused_cpu_sys:" + sys + "\r\nused_cpu_user:" + user
                        + "\r\nused_cpu_sys_children:0.000000\r\n",
                "# Stats\r\ntotal_connections_received:3\r\ntotal_commands_processed:" + total + "\r\n",
                "# Commandstats\r\ncmdstat_evalsha:calls=" + evalshaCalls + ",usec=" + evalshaUsec
                        + ",usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n"
                        + "cmdstat_client|list:calls=2,usec=30,usec_per_call=15.00,rejected_calls=0,failed_calls=0\r\n");
    }

    @Test
    void parsesCpuCommandTotalsAndCommandStats() {
        RedisStats s = reading("1.500000", "2.250001", 1234, 10, 400);

        assertThat(s.sysMicros()).isEqualTo(1_500_000);
        assertThat(s.userMicros()).isEqualTo(2_250_001);
        assertThat(s.cpuMicros()).isEqualTo(3_750_001);
        assertThat(s.totalCommands()).isEqualTo(1234);
        assertThat(s.commands().get("evalsha")).isEqualTo(new RedisStats.Command("evalsha", 10, 400));
        assertThat(s.commands().get("client|list").calls()).isEqualTo(2);
    }

    @Test
    void differenceKeepsOnlyCommandsThatRanAndOrdersThemByTime() {
        RedisStats before = reading("1.0", "1.0", 100, 10, 400);
        RedisStats after = reading("1.5", "2.0", 160, 30, 1400);

        RedisStats d = after.minus(before);

        assertThat(d.cpuMicros()).isEqualTo(1_500_000);
        assertThat(d.totalCommands()).isEqualTo(60);
        assertThat(d.busiest(5)).containsExactly(new RedisStats.Command("evalsha", 20, 1000));
    }
}
