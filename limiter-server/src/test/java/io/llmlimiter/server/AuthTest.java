package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthTest {

    private static final String WRONG = "wrong-token-that-is-long-enough";

    private TestServer s;

    @BeforeAll
    void start(RedisProcess redis) throws IOException {
        s = TestServer.start(redis.uri());
    }

    @AfterAll
    void stop() {
        s.close();
    }

    private List<String[]> apiRoutes() {
        return s.server.routes().stream().filter(r -> r.contains(" /api/v1"))
                .map(r -> r.replace("{provider}", "openai").replace("{model}", "gpt-4").split(" ", 2)).toList();
    }

    @Test
    void everyApiRouteRefusesARequestWithoutToken() {
        assertThat(apiRoutes()).hasSizeGreaterThanOrEqualTo(14);
        for (String[] route : apiRoutes()) {
            HttpResponse<String> r = s.send(route[0], route[1], "{}", "application/json", null);
            assertThat(r.statusCode()).as(route[0] + " " + route[1]).isEqualTo(401);
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"llm-limiter\"");
            assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(json(r).get("type").asText()).isEqualTo("urn:llmlimiter:problem:unauthorized");
        }
    }

    @Test
    void everyApiRouteRefusesAWrongTokenAndChangesNothing() throws IOException {
        String file = Files.readString(s.configFile());
        for (String[] route : apiRoutes()) {
            HttpResponse<String> r = s.send(route[0], route[1], "{\"limits\":\"requests=1/1s\"}", "application/json", WRONG);
            assertThat(r.statusCode()).as(route[0] + " " + route[1]).isEqualTo(401);
        }
        assertThat(Files.readString(s.configFile())).isEqualTo(file);
    }

    @Test
    void otherSchemesAndAPrefixOfTheTokenAreRefused() {
        assertThat(s.send("GET", "/api/v1/targets", null, null, null).statusCode()).isEqualTo(401);
        String half = TestServer.TOKEN.substring(0, TestServer.TOKEN.length() / 2);
        assertThat(s.send("GET", "/api/v1/targets", null, null, half).statusCode()).isEqualTo(401);
        assertThat(s.send("GET", "/api/v1/targets", null, null, TestServer.TOKEN + "x").statusCode()).isEqualTo(401);
        java.net.http.HttpRequest basic = java.net.http.HttpRequest.newBuilder(java.net.URI.create(s.server.url()
                + "/api/v1/targets")).header("Authorization", "Basic " + TestServer.TOKEN).GET().build();
        assertThat(s.send(basic).statusCode()).isEqualTo(401);
        assertThat(s.get("/api/v1/targets").statusCode()).isEqualTo(200);
    }

    @Test
    void healthOpenApiAndTheDashboardNeedNoToken() {
        for (String path : List.of("/health", "/openapi.json", "/", "/dashboard.js", "/dashboard.css")) {
            assertThat(s.send("GET", path, null, null, null).statusCode()).as(path).isEqualTo(200);
        }
    }

    @Test
    void metricsOnTheMainPortNeedTheToken() {
        assertThat(s.send("GET", "/metrics", null, null, null).statusCode()).isEqualTo(401);
        assertThat(s.send("GET", "/metrics", null, null, WRONG).statusCode()).isEqualTo(401);
        assertThat(s.get("/metrics").statusCode()).isEqualTo(200);
    }

    @Test
    void tokensNeverAppearInLogsMetricsOrTheAuditLog() throws IOException {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        LoggerContext context = root.getLoggerContext();
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.setContext(context);
        captured.start();
        ch.qos.logback.classic.Level level = context.getLogger("io.llmlimiter").getLevel();
        context.getLogger("io.llmlimiter").setLevel(ch.qos.logback.classic.Level.DEBUG);
        root.addAppender(captured);
        try {
            s.send("GET", "/api/v1/targets", null, null, WRONG);
            s.send("PUT", "/api/v1/targets/auth/logged", "{\"limits\":\"requests=1/1s\"}");
            s.send("PUT", "/api/v1/targets/auth/logged", "{\"limits\":\"requests=0/1s\"}");
            String metrics = s.get("/metrics").body();
            assertThat(metrics).doesNotContain(TestServer.TOKEN).doesNotContain(WRONG);
        } finally {
            root.detachAppender(captured);
            context.getLogger("io.llmlimiter").setLevel(level);
        }
        assertThat(captured.list).allSatisfy(e -> assertThat(e.getFormattedMessage())
                .doesNotContain(TestServer.TOKEN).doesNotContain(WRONG));
        assertThat(Files.readString(s.auditLog())).doesNotContain(TestServer.TOKEN).doesNotContain(WRONG);
    }
}
