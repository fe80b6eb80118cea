package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

@WithRedis
class ServeCommandTest {

    private final RedisProcess redis;
    private final Map<String, String> env = new HashMap<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final StringWriter err = new StringWriter();

    ServeCommandTest(RedisProcess redis) {
        this.redis = redis;
    }

    private ServeCommand command() {
        return new ServeCommand(env::get, new PrintStream(out, true, StandardCharsets.UTF_8));
    }

    private int execute(String... args) {
        CommandLine cl = new CommandLine(command());
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    private ServeCommand.Running start(String... args) throws Exception {
        ServeCommand cmd = command();
        new CommandLine(cmd).parseArgs(args);
        return cmd.start();
    }

    private static Path tempConfig() throws IOException {
        return Files.createTempDirectory("llmlim-serve-").resolve("llm_configs.json");
    }

    private static int get(String url, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void serveRefusesToStartWithoutATokenUnlessInDevMode() throws IOException {
        int code = execute("--redis", redis.uri(), "--port", "0", "--config-file", tempConfig().toString());

        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("LIMITER_ADMIN_TOKEN is not set").contains("--dev");
    }

    @Test
    void serveRefusesATokenShorterThanSixteenCharacters() throws IOException {
        env.put(ServeCommand.TOKEN_ENV, "short");

        int code = execute("--redis", redis.uri(), "--port", "0", "--config-file", tempConfig().toString());

        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("at least 16 characters");
    }

    @Test
    void devModeGeneratesATokenPrintsItOnceAndItOpensTheApi() throws Exception {
        try (ServeCommand.Running r = start("--dev", "--redis", redis.uri(), "--host", "127.0.0.1", "--port", "0",
                "--config-file", tempConfig().toString())) {
            String printed = out.toString(StandardCharsets.UTF_8);
            Matcher m = Pattern.compile("Dev admin token \\(.*\\): (\\S+)").matcher(printed);
            assertThat(m.find()).as(printed).isTrue();
            String token = m.group(1);
            assertThat(printed.split(Pattern.quote(token), -1)).hasSize(2);
            assertThat(get(r.server().url() + "/api/v1/targets", token)).isEqualTo(200);
            assertThat(get(r.server().url() + "/api/v1/targets", null)).isEqualTo(401);
        }
    }

    @Test
    void theTokenAndTheRedisUriAreReadFromTheEnvironment() throws Exception {
        env.put(ServeCommand.TOKEN_ENV, TestServer.TOKEN);
        env.put(ServeCommand.REDIS_ENV, redis.uri());
        Path config = tempConfig();
        try (ServeCommand.Running r = start("--host", "127.0.0.1", "--port", "0", "--config-file", config.toString());
             LlmLimiter check = LlmLimiter.builder().redis(redis.uri()).build()) {
            assertThat(r.embeddedRedis()).isNull();
            assertThat(get(r.server().url() + "/api/v1/targets", TestServer.TOKEN)).isEqualTo(200);
            assertThat(check.admin().config(Target.parse("openai/gpt-4"))).isPresent();
            assertThat(Files.exists(config)).isTrue();
            assertThat(Files.exists(config.resolveSibling("audit.log"))).isTrue();
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void withoutRedisAnEmbeddedRedisIsStartedAndTheLogSaysSo() throws Exception {
        env.put(ServeCommand.TOKEN_ENV, TestServer.TOKEN);
        Logger logger = (Logger) LoggerFactory.getLogger(ServeCommand.class);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        try (ServeCommand.Running r = start("--host", "127.0.0.1", "--port", "0", "--config-file", tempConfig().toString())) {
            assertThat(r.embeddedRedis()).isNotNull();
            assertThat(r.embeddedRedis().uri()).doesNotEndWith(":6379");
            assertThat(logs.list).anySatisfy(e -> assertThat(e.getFormattedMessage()).contains("started an embedded Redis"));
            assertThat(get(r.server().url() + "/health", null)).isEqualTo(200);
        } finally {
            logger.detachAppender(logs);
        }
        assertThat(logs.list).allSatisfy(e -> assertThat(e.getFormattedMessage()).doesNotContain(TestServer.TOKEN));
    }

    @Test
    void metricsNeedTheTokenOnTheMainPortAndNoneOnTheSeparateMetricsListener() throws Exception {
        env.put(ServeCommand.TOKEN_ENV, TestServer.TOKEN);
        try (ServeCommand.Running r = start("--redis", redis.uri(), "--host", "127.0.0.1", "--port", "0",
                "--metrics-port", "0", "--config-file", tempConfig().toString())) {
            String separate = r.server().metricsUrl().orElseThrow();
            assertThat(separate).startsWith("http://127.0.0.1:").endsWith("/metrics")
                    .doesNotContain(":" + URI.create(r.server().url()).getPort() + "/");
            assertThat(get(separate, null)).isEqualTo(200);
            HttpResponse<String> scraped = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(separate))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(scraped.body()).contains("llmlimiter_target_window_limit").doesNotContain(TestServer.TOKEN);

            assertThat(get(r.server().url() + "/metrics", null)).isEqualTo(401);
            assertThat(get(r.server().url() + "/metrics", TestServer.TOKEN)).isEqualTo(200);
            // The metrics listener serves nothing else.
            String base = separate.substring(0, separate.length() - "/metrics".length());
            assertThat(get(base + "/api/v1/targets", TestServer.TOKEN)).isEqualTo(404);
            assertThat(get(base + "/", null)).isEqualTo(404);
        }
    }

    @Test
    void aBadMetricsPortIsRefusedNamingTheFlag() throws IOException {
        env.put(ServeCommand.TOKEN_ENV, TestServer.TOKEN);
        int code = execute("--redis", redis.uri(), "--port", "0", "--metrics-port", "70000",
                "--config-file", tempConfig().toString());
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--metrics-port").contains("70000");
    }
}
