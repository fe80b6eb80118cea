package io.llmlimiter.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.llmlimiter.server.ServeCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The compose file's structure and its safe defaults, read as YAML (no Docker needed): loopback
 * ports, required secrets, no anonymous Grafana, a bounded Redis that never evicts, a server
 * healthcheck, metrics kept off the published ports, and a {@code .dockerignore}. The commands it
 * gives the server are parsed by the real command line, so a renamed flag fails here, not in a
 * deployment.
 */
class ComposeFileTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Set<String> TOP_LEVEL = Set.of("name", "services", "volumes", "networks", "secrets", "configs");
    private static final Set<String> SERVICE_KEYS = Set.of("image", "build", "command", "entrypoint", "environment",
            "volumes", "ports", "depends_on", "healthcheck", "restart", "networks", "user", "secrets", "configs");
    private static final Pattern LOOPBACK_PORT =
            Pattern.compile("(?:127\\.0\\.0\\.1|\\$\\{[A-Z_]+_BIND:-127\\.0\\.0\\.1\\}):(\\d+):(\\d+)");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\\}");

    private static JsonNode compose;
    private static JsonNode services;

    @BeforeAll
    static void read() throws IOException {
        compose = new ObjectMapper(new YAMLFactory()).readTree(ROOT.resolve("docker-compose.yml").toFile());
        services = compose.get("services");
    }

    @Test
    void theFileHasTheExpectedShape() {
        assertThat(names(compose)).isSubsetOf(TOP_LEVEL).contains("services", "volumes");
        assertThat(names(services)).containsExactlyInAnyOrder("redis", "limiter-server", "prometheus", "grafana");
        services.fields().forEachRemaining(s -> {
            assertThat(names(s.getValue())).as(s.getKey()).isSubsetOf(SERVICE_KEYS);
            assertThat(s.getValue().has("image") || s.getValue().has("build")).as(s.getKey()).isTrue();
            for (JsonNode v : iterable(s.getValue().path("volumes"))) {
                String source = v.asText().split(":")[0];
                if (!source.startsWith(".") && !source.startsWith("/")) {
                    assertThat(compose.get("volumes").has(source)).as(s.getKey() + " volume " + source).isTrue();
                }
            }
            JsonNode deps = s.getValue().path("depends_on");
            for (String dep : deps.isArray() ? texts(deps) : names(deps)) {
                assertThat(services.has(dep)).as(s.getKey() + " depends on " + dep).isTrue();
                if (deps.path(dep).path("condition").asText().equals("service_healthy")) {
                    assertThat(services.get(dep).has("healthcheck")).as(dep + " has a healthcheck").isTrue();
                }
            }
        });
        // Every interpolation is ${NAME}, ${NAME:-default} or ${NAME:?message}.
        Matcher m = Pattern.compile("\\$\\{[^}]*\\}").matcher(compose.toString());
        while (m.find()) {
            assertThat(VARIABLE.matcher(m.group()).matches()).as(m.group()).isTrue();
        }
    }

    @Test
    void everyPublishedPortIsBoundToLoopbackUnlessOverridden() {
        services.fields().forEachRemaining(s -> {
            for (JsonNode port : iterable(s.getValue().path("ports"))) {
                assertThat(port.isTextual()).as(s.getKey() + " " + port).isTrue();
                assertThat(LOOPBACK_PORT.matcher(port.asText()).matches()).as(s.getKey() + " " + port).isTrue();
            }
        });
    }

    @Test
    void secretsAreRequiredAndGrafanaHasNoAnonymousAccess() {
        assertThat(services.at("/limiter-server/environment/LIMITER_ADMIN_TOKEN").asText())
                .matches("\\$\\{LIMITER_ADMIN_TOKEN:\\?.+\\}");
        JsonNode grafana = services.at("/grafana/environment");
        assertThat(grafana.path("GF_SECURITY_ADMIN_PASSWORD").asText()).matches("\\$\\{GRAFANA_ADMIN_PASSWORD:\\?.+\\}");
        assertThat(grafana.path("GF_AUTH_ANONYMOUS_ENABLED").asText()).isEqualTo("false");
        assertThat(grafana.path("GF_USERS_ALLOW_SIGN_UP").asText()).isEqualTo("false");
        assertThat(grafana.toString()).doesNotContain("GF_AUTH_ANONYMOUS_ORG_ROLE");
    }

    @Test
    void redisHasAMemoryCapAndNeverEvicts() {
        List<String> command = texts(services.at("/redis/command"));
        assertThat(command).contains("--maxmemory", "--maxmemory-policy", "--appendonly");
        assertThat(command.get(command.indexOf("--maxmemory-policy") + 1)).isEqualTo("noeviction");
        String maxmemory = command.get(command.indexOf("--maxmemory") + 1);
        Matcher m = VARIABLE.matcher(maxmemory);
        String value = m.matches() ? m.group(3) : maxmemory;
        assertThat(value).matches("[1-9][0-9]*(mb|gb)");
    }

    @Test
    void theServerHasAHealthcheckItsImageCanRunAndItsCommandsParse() {
        JsonNode server = services.get("limiter-server");
        List<String> serve = texts(server.get("command"));
        assertThat(serve.get(0)).isEqualTo("serve");
        new CommandLine(new ServeCommand()).parseArgs(serve.subList(1, serve.size()).toArray(String[]::new));

        List<String> test = texts(server.at("/healthcheck/test"));
        assertThat(test.get(0)).isEqualTo("CMD");
        assertThat(test.get(1)).isEqualTo("java");
        int jar = test.indexOf("/app/llm-limiter.jar");
        assertThat(test.get(jar - 1)).isEqualTo("-jar");
        assertThat(test.get(jar + 1)).isEqualTo("health-check");
        Main.commandLine().parseArgs(test.subList(jar + 1, test.size()).toArray(String[]::new));
        assertThat(test).contains("http://127.0.0.1:" + serve.get(serve.indexOf("--port") + 1) + "/health");
        assertThat(server.at("/healthcheck/interval").asText()).isNotEmpty();
    }

    @Test
    void tokenFreeMetricsStayInsideTheComposeNetwork() throws IOException {
        List<String> serve = texts(services.at("/limiter-server/command"));
        String metricsPort = serve.get(serve.indexOf("--metrics-port") + 1);
        for (JsonNode port : iterable(services.at("/limiter-server/ports"))) {
            Matcher m = LOOPBACK_PORT.matcher(port.asText());
            assertThat(m.matches()).isTrue();
            assertThat(m.group(2)).isNotEqualTo(metricsPort);
        }
        String prometheus = Files.readString(ROOT.resolve("deploy/prometheus/prometheus.yml"));
        assertThat(prometheus).contains("\"limiter-server:" + metricsPort + "\"");
    }

    @Test
    void theBuildContextLeavesOutBuildOutputDataAndSecrets() throws IOException {
        List<String> ignored = Files.readAllLines(ROOT.resolve(".dockerignore")).stream()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertThat(ignored).contains("**/target/", "data/", ".git/", ".env");
        String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
        assertThat(dockerfile).contains("HEALTHCHECK").contains("health-check").contains("USER limiter");
    }

    private static List<String> names(JsonNode node) {
        List<String> out = new ArrayList<>();
        node.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static Iterable<JsonNode> iterable(JsonNode node) {
        return node::elements;
    }
}
