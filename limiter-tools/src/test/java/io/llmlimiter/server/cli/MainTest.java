package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

    @Test
    void theCommandLineListsEveryCommandAndRefusesToRunWithoutOne() {
        CommandLine cl = Main.commandLine();
        StringWriter help = new StringWriter();
        cl.setOut(new PrintWriter(help, true));
        cl.setErr(new PrintWriter(new StringWriter(), true));

        assertThat(cl.execute("--help")).isZero();
        assertThat(help.toString()).contains("serve", "demo", "workload", "probe", "mock-provider", "health-check");
        assertThat(cl.execute()).isEqualTo(2);
    }
}
