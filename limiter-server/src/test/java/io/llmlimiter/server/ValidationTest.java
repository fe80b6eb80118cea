package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kind of bad input gets a 4xx problem+json naming the field, and changes nothing: not Redis,
 * not the config file.
 */
@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ValidationTest {

    private static final String ONE = "/api/v1/targets/valid/target";
    private static final String JSON = "application/json";

    private TestServer s;
    private LimitConfig original;

    @BeforeAll
    void start(RedisProcess redis) throws IOException {
        s = TestServer.start(redis.uri());
        assertThat(s.send("PUT", ONE, "{\"limits\":\"requests=5/1s\",\"max_concurrent\":2}").statusCode()).isEqualTo(201);
        original = s.limiter.admin().config(Target.parse("valid/target")).orElseThrow();
    }

    @AfterAll
    void stop() {
        s.close();
    }

    /** One bad request: what is sent, and the status and field the answer must name. */
    record Case(String name, String method, String path, String contentType, String body, int status, String field) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> cases() {
        String limit0 = "{\"limits\":[{\"resource\":\"requests\",\"amount\":%s,\"window\":\"%s\"}]}";
        List<Case> cases = List.of(
                new Case("malformed JSON", "PUT", ONE, JSON, "{\"limits\": \"requests=5/1s\",", 400, "body"),
                new Case("trailing garbage after the JSON", "PUT", ONE, JSON, "{\"limits\":\"requests=5/1s\"} x", 400, "body"),
                new Case("a duplicated key", "PUT", ONE, JSON, "{\"limits\":\"requests=5/1s\",\"limits\":\"requests=6/1s\"}", 400, "body"),
                new Case("a list instead of an object", "PUT", ONE, JSON, "[1,2]", 400, "body"),
                new Case("an empty body", "PUT", ONE, JSON, "", 400, "body"),
                new Case("an unknown field", "PUT", ONE, JSON, "{\"limits\":\"requests=5/1s\",\"colour\":\"red\"}", 400, "colour"),
                new Case("an unknown field in a limit", "PUT", ONE, JSON,
                        "{\"limits\":[{\"resource\":\"requests\",\"amount\":5,\"window\":\"1s\",\"x\":1}]}", 400, "limits[0].x"),
                new Case("a create without provider", "POST", "/api/v1/targets", JSON,
                        "{\"model\":\"new\",\"limits\":\"requests=5/1s\"}", 400, "provider"),
                new Case("a create without model", "POST", "/api/v1/targets", JSON,
                        "{\"provider\":\"valid\",\"limits\":\"requests=5/1s\"}", 400, "model"),
                new Case("a limit without amount", "PUT", ONE, JSON,
                        "{\"limits\":[{\"resource\":\"requests\",\"window\":\"1s\"}]}", 400, "limits[0].amount"),
                new Case("no limit at all", "PUT", ONE, JSON, "{\"max_concurrent\":0}", 400, "limits"),
                new Case("a zero amount", "PUT", ONE, JSON, limit0.formatted("0", "1s"), 400, "limits[0].amount"),
                new Case("a negative amount", "PUT", ONE, JSON, limit0.formatted("-5", "1s"), 400, "limits[0].amount"),
                new Case("an amount above the maximum", "PUT", ONE, JSON, limit0.formatted("1000000000001", "1s"), 400,
                        "limits[0].amount"),
                new Case("an absurdly large amount", "PUT", ONE, JSON,
                        limit0.formatted("123456789012345678901234567890", "1s"), 400, "limits[0].amount"),
                new Case("a fractional amount", "PUT", ONE, JSON, limit0.formatted("2.5", "1s"), 400, "limits[0].amount"),
                new Case("an amount in exponent form", "PUT", ONE, JSON, limit0.formatted("1e30", "1s"), 400, "limits[0].amount"),
                new Case("an amount given as a string", "PUT", ONE, JSON, limit0.formatted("\"5\"", "1s"), 400, "limits[0].amount"),
                new Case("a negative requests_per_minute", "PUT", ONE, JSON, "{\"requests_per_minute\":-5}", 400,
                        "requests_per_minute"),
                new Case("a huge max_concurrent", "PUT", ONE, JSON,
                        "{\"limits\":\"requests=5/1s\",\"max_concurrent\":99999999999}", 400, "max_concurrent"),
                new Case("a negative max_concurrent", "PUT", ONE, JSON,
                        "{\"limits\":\"requests=5/1s\",\"max_concurrent\":-1}", 400, "max_concurrent"),
                new Case("a max_concurrent given as text", "PUT", ONE, JSON,
                        "{\"limits\":\"requests=5/1s\",\"max_concurrent\":\"ten\"}", 400, "max_concurrent"),
                new Case("a window that is not a duration", "PUT", ONE, JSON, limit0.formatted("5", "5 parsecs"), 400,
                        "limits[0].window"),
                new Case("a zero window", "PUT", ONE, JSON, limit0.formatted("5", "0s"), 400, "limits[0].window"),
                new Case("a window longer than 31 days", "PUT", ONE, JSON, limit0.formatted("5", "400d"), 400,
                        "limits[0].window"),
                new Case("compact limits without a window", "PUT", ONE, JSON, "{\"limits\":\"requests=5\"}", 400, "limits"),
                new Case("compact limits with a bad window", "PUT", ONE, JSON, "{\"limits\":\"requests=5/soon\"}", 400, "limits"),
                new Case("an unknown resource", "PUT", ONE, JSON,
                        "{\"limits\":[{\"resource\":\"bananas\",\"amount\":5,\"window\":\"1s\"}]}", 400, "limits[0].resource"),
                new Case("a bad lease_ttl", "PUT", ONE, JSON, "{\"limits\":\"requests=5/1s\",\"lease_ttl\":\"5 years\"}", 400,
                        "lease_ttl"),
                new Case("a negative delivery_margin_ms", "PUT", ONE, JSON,
                        "{\"limits\":\"requests=5/1s\",\"delivery_margin_ms\":-1}", 400, "delivery_margin_ms"),
                new Case("a delivery_margin_ms above 60 s", "PUT", ONE, JSON,
                        "{\"limits\":\"requests=5/1s\",\"delivery_margin_ms\":60001}", 400, "delivery_margin_ms"),
                new Case("a delivery_margin_ms given as text", "PUT", ONE, JSON,
                        "{\"limits\":\"requests=5/1s\",\"delivery_margin_ms\":\"250ms\"}", 400, "delivery_margin_ms"),
                new Case("an unknown accounting", "PUT", ONE, JSON, "{\"limits\":\"requests=5/1s\",\"accounting\":\"maybe\"}",
                        400, "accounting"),
                new Case("a provider that contradicts the path", "PUT", ONE, JSON,
                        "{\"provider\":\"other\",\"limits\":\"requests=5/1s\"}", 400, "provider"),
                new Case("test notes that are too long", "PUT", ONE, JSON,
                        "{\"limits\":\"requests=5/1s\",\"test_notes\":\"" + "n".repeat(2001) + "\"}", 400, "test_notes"),
                new Case("a test date that is too long", "PUT", ONE, JSON,
                        "{\"limits\":\"requests=5/1s\",\"last_test_date\":\"" + "d".repeat(65) + "\"}", 400,
                        "last_test_date"),
                new Case("is_tested given as text", "PUT", ONE, JSON, "{\"limits\":\"requests=5/1s\",\"is_tested\":\"yes\"}",
                        400, "is_tested"),
                new Case("test notes given as a number", "PUT", ONE, JSON, "{\"limits\":\"requests=5/1s\",\"test_notes\":5}",
                        400, "test_notes"),
                new Case("a patch with test notes that are too long", "PATCH", ONE, "application/merge-patch+json",
                        "{\"test_notes\":\"" + "n".repeat(2001) + "\"}", 400, "test_notes"),
                new Case("a default with test notes that are too long", "PUT", "/api/v1/default", JSON,
                        "{\"requests_per_minute\":5,\"test_notes\":\"" + "n".repeat(2001) + "\"}", 400, "test_notes"),
                new Case("a patch with an unknown field", "PATCH", ONE, "application/merge-patch+json", "{\"speed\":3}", 400,
                        "speed"),
                new Case("a patch with a zero amount", "PATCH", ONE, JSON, limit0.formatted("0", "1s"), 400, "limits[0].amount"),
                new Case("a patch that is not an object", "PATCH", ONE, JSON, "\"max_concurrent\"", 400, "body"),
                new Case("dot-dot as provider", "PUT", "/api/v1/targets/../target", JSON, "{\"limits\":\"requests=5/1s\"}", 400,
                        "provider"),
                new Case("encoded dot-dot as provider", "PUT", "/api/v1/targets/%2e%2e/target", JSON,
                        "{\"limits\":\"requests=5/1s\"}", 400, "provider"),
                new Case("an encoded slash in the provider", "PUT", "/api/v1/targets/val%2Fid/target", JSON,
                        "{\"limits\":\"requests=5/1s\"}", 400, "provider"),
                new Case("an empty model segment", "PUT", "/api/v1/targets/valid/a%2F%2Fb", JSON,
                        "{\"limits\":\"requests=5/1s\"}", 400, "model"),
                new Case("an empty plain model segment", "PUT", "/api/v1/targets/valid/a//b", JSON,
                        "{\"limits\":\"requests=5/1s\"}", 404, null),
                new Case("a model ending in a slash", "PUT", "/api/v1/targets/valid/a%2F", JSON,
                        "{\"limits\":\"requests=5/1s\"}", 400, "model"),
                new Case("dot-dot as a model segment", "PUT", "/api/v1/targets/valid/a%2F..%2Fb", JSON,
                        "{\"limits\":\"requests=5/1s\"}", 400, "model"),
                new Case("a space in the provider", "PUT", "/api/v1/targets/val%20id/target", JSON,
                        "{\"limits\":\"requests=5/1s\"}", 400, "provider"),
                new Case("a reserved name as provider", "PUT", "/api/v1/targets/_default/target", JSON,
                        "{\"limits\":\"requests=5/1s\"}", 400, "provider"),
                new Case("a model of 201 characters", "PUT", "/api/v1/targets/valid/" + "m".repeat(201), JSON,
                        "{\"limits\":\"requests=5/1s\"}", 400, "model"),
                new Case("a NUL byte in the path", "GET", "/api/v1/targets/valid/target%00", null, null, 400, "path"),
                new Case("a target without config", "GET", "/api/v1/targets/valid/unknown", null, null, 404, null),
                new Case("stats of a target without config", "GET", "/api/v1/targets/valid/unknown/stats", null, null, 404, null),
                new Case("a reset of a target without config", "POST", "/api/v1/targets/valid/unknown/reset", null, null, 404, null),
                new Case("an unknown route", "GET", "/api/v1/everything", null, null, 404, null),
                new Case("a wrong method", "DELETE", "/api/v1/stats", null, null, 405, null),
                new Case("a body of 70 KB", "PUT", ONE, JSON, "{\"test_notes\":\"" + "x".repeat(70_000) + "\"}", 413, "body"),
                new Case("an import of 5 MB", "POST", "/api/v1/import", JSON, "[" + "{},".repeat(1_700_000) + "{}]", 413, "body"),
                new Case("text/plain", "PUT", ONE, "text/plain", "{\"limits\":\"requests=5/1s\"}", 415, "Content-Type"),
                new Case("no content type", "PUT", ONE, null, "{\"limits\":\"requests=5/1s\"}", 415, "Content-Type"),
                new Case("a charset other than UTF-8", "PUT", ONE, "application/json; charset=iso-8859-1",
                        "{\"limits\":\"requests=5/1s\"}", 415, "Content-Type"),
                new Case("form data", "POST", "/api/v1/targets", "application/x-www-form-urlencoded", "provider=a&model=b", 415,
                        "Content-Type"),
                new Case("an import with one bad entry among good ones", "POST", "/api/v1/import", JSON, """
                        {"good_one": {"provider":"valid","model":"import-a","requests_per_minute":10},
                         "good_two": {"provider":"valid","model":"target","requests_per_minute":99},
                         "bad_one": {"provider":"valid","model":"import-b","limits":[{"resource":"requests","amount":0,"window":"1s"}]}}""",
                        400, "bad_one.limits[0].amount"),
                new Case("an import listing one target twice", "POST", "/api/v1/import", JSON, """
                        [{"provider":"valid","model":"import-c","requests_per_minute":10},
                         {"provider":"valid","model":"import-c","requests_per_minute":11}]""", 400, "[1]"),
                new Case("an import of a bad default config", "POST", "/api/v1/import", JSON,
                        "{\"_default\":{\"requests_per_minute\":0}}", 400, "_default.requests_per_minute"),
                new Case("an import that is a number", "POST", "/api/v1/import", JSON, "42", 400, "body"),
                new Case("an import with a bad probe record", "POST", "/api/v1/import", JSON,
                        "{\"a\": {\"provider\":\"valid\",\"model\":\"probe\",\"requests_per_minute\":10,"
                                + "\"is_tested\":1}}", 400, "a.is_tested"),
                new Case("an import with a revision that is not a number", "POST", "/api/v1/import", JSON,
                        "{\"a\": {\"provider\":\"valid\",\"model\":\"rev\",\"requests_per_minute\":10,\"revision\":\"new\"}}",
                        400, "a.revision"),
                new Case("an import with a bad update time", "POST", "/api/v1/import", JSON,
                        "{\"a\": {\"provider\":\"valid\",\"model\":\"rev\",\"requests_per_minute\":10,\"revision\":5,"
                                + "\"updated_at\":\"yesterday\"}}", 400, "a.updated_at"),
                new Case("an import deleting a target with a config", "POST", "/api/v1/import", JSON,
                        "{\"a\": {\"provider\":\"valid\",\"model\":\"target\",\"deleted\":true,\"limits\":\"requests=1/1s\"}}",
                        400, "a.limits"),
                new Case("an import with an unknown mode", "POST", "/api/v1/import?mode=wipe", JSON, "{}", 400, "mode"),
                new Case("an audit limit of zero", "GET", "/api/v1/audit?limit=0", null, null, 400, "limit"),
                new Case("a bad default config", "PUT", "/api/v1/default", JSON, "{\"requests_per_minute\":0}", 400,
                        "requests_per_minute"));
        return cases.stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0} is refused with a problem naming the field and changes nothing")
    @MethodSource("cases")
    void badInputIsRefusedWithAProblemNamingTheFieldAndChangesNothing(Case c) throws IOException {
        List<Target> targetsBefore = s.limiter.admin().targets();
        LimitConfig defaultBefore = s.limiter.admin().defaultConfig().orElseThrow();
        String fileBefore = Files.readString(s.configFile());

        HttpResponse<String> r = s.send(c.method(), c.path(), c.body(), c.contentType(), TestServer.TOKEN);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(c.status());
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode p = json(r);
        assertThat(p.get("type").asText()).startsWith("urn:llmlimiter:problem:");
        assertThat(p.get("title").asText()).isNotBlank();
        assertThat(p.get("status").asInt()).isEqualTo(c.status());
        assertThat(p.get("detail").asText()).isNotBlank();
        if (c.field() != null) {
            assertThat(p.path("field").asText()).as(r.body()).isEqualTo(c.field());
            assertThat(p.get("errors").get(0).get("field").asText()).isEqualTo(c.field());
        }
        assertThat(s.limiter.admin().targets()).isEqualTo(targetsBefore);
        assertThat(s.limiter.admin().config(Target.parse("valid/target"))).hasValue(original);
        assertThat(s.limiter.admin().defaultConfig()).hasValue(defaultBefore);
        assertThat(Files.readString(s.configFile())).isEqualTo(fileBefore);
    }

    @ParameterizedTest(name = "a chunked body larger than the limit is refused with 413")
    @MethodSource("chunked")
    void aChunkedBodyLargerThanTheLimitIsRefused(int size) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(s.server.url() + ONE))
                .header("Authorization", "Bearer " + TestServer.TOKEN).header("Content-Type", JSON)
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(new byte[size]))).build();
        HttpResponse<String> r = s.send(request);
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(json(r).get("field").asText()).isEqualTo("body");
        assertThat(s.limiter.admin().config(Target.parse("valid/target"))).hasValue(original);
    }

    static Stream<Integer> chunked() {
        return Stream.of(Bodies.CONFIG_MAX_BYTES + 1, 200_000);
    }
}
