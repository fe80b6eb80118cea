package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** Bad input gets one clear line naming the flag and the usage, exit code 2, never a stack trace. */
class CliValidationTest {

    @ParameterizedTest(name = "workload {0}")
    @CsvSource(delimiter = '|', value = {
        "--limits|requests=abc/2s|--limits",
        "--limits|requests=20|--limits",
        "--limits|bananas=20/2s|--limits",
        "--requests|0|--requests",
        "--threads|0|--threads",
        "--processes|100|--processes",
        "--target|gpt-4o|--target",
        "--target|openai/../x|--target",
        "--naive-backoff|soon|--naive-backoff",
        "--base-url|ftp://x|--base-url",
        "--api-key-env|not a name|--api-key-env",
        "--accounting|sometimes|--accounting",
    })
    void workloadNamesTheBadFlag(String flag, String value, String named) {
        String[] args = {"--base-url", "http://127.0.0.1:9", "--target", "mock/m", "--redis", "redis://127.0.0.1:9",
            "--limits", "requests=1/1s", flag, value};
        Result r = run(new WorkloadCommand(), args);
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains(named).contains("Usage:").doesNotContain("Exception").doesNotContain("\tat ");
    }

    @ParameterizedTest(name = "probe {0}")
    @CsvSource(delimiter = '|', value = {
        "--max-calls|0|--max-calls",
        "--margin|1.5|--margin",
        "--max-concurrency|0|--max-concurrency",
        "--target|nomodel|--target",
        "--timeout|forever|--timeout",
        "--apply|--json|--admin-url",
    })
    void probeNamesTheBadFlag(String flag, String value, String named) {
        Result r = run(new ProbeCommand(), "--base-url", "http://127.0.0.1:9", "--target", "mock/m", flag, value);
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains(named).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @ParameterizedTest(name = "demo {0}")
    @CsvSource(delimiter = '|', value = {"--calls|0", "--processes|0", "--threads|1000", "--port|70000"})
    void demoNamesTheBadFlag(String flag, String value) {
        Result r = run(new DemoCommand(), flag, value);
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains(flag).doesNotContain("\tat ");
    }

    @ParameterizedTest(name = "mock-provider {0} {1}")
    @CsvSource(delimiter = '|', value = {
        "--limits|requests=abc/2s|--limits",
        "--limits|input_tokens=500/1s|--limits",
        "--limits|requests=1/1s,requests=5/1m|--limits",
        "--limits|tokens=1/1s,tokens=5/1m|--limits",
        "--max-concurrent|-1|--max-concurrent",
        "--latency|soon|--latency",
        "--latency|1h|--latency",
        "--latency-jitter|-5ms|--latency-jitter",
        "--headers|fancy|--headers",
        "--port|70000|--port",
    })
    void mockProviderNamesTheBadFlag(String flag, String value, String named) {
        // Never port 8080 by default here: a flag that were wrongly accepted would start a server that waits for Ctrl-C.
        String[] args = flag.equals("--port") ? new String[] {flag, value} : new String[] {"--port", "0", flag, value};
        Result r = run(new MockProviderCommand(), args);
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("Invalid value for option '" + named + "'").contains("Usage:")
                .doesNotContain("Exception").doesNotContain("\tat ");
    }

    @org.junit.jupiter.api.Test
    void mockProviderOnATakenPortSaysSoInOneLine() throws java.io.IOException {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            Result r = run(new MockProviderCommand(), "--port", String.valueOf(taken.getLocalPort()));
            assertThat(r.code).isEqualTo(1);
            assertThat(r.err).startsWith("error: the mock provider could not start on port " + taken.getLocalPort())
                    .doesNotContain("\tat ");
        }
    }

    @org.junit.jupiter.api.Test
    void anUnreachableRedisIsOneLineNotAStackTrace() {
        Result r = run(new WorkloadCommand(), "--base-url", "http://127.0.0.1:9", "--target", "mock/m",
                "--redis", "redis://127.0.0.1:9", "--requests", "1");
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).startsWith("error: ").contains("Redis").doesNotContain("\tat ");
    }

    private static Result run(Object command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(command);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Result(cl.execute(args), out.toString(), err.toString());
    }

    private record Result(int code, String out, String err) {
    }
}
