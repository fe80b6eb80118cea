package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;

@WithRedis
class OpenApiTest {

    private static final Set<String> METHODS = Set.of("get", "put", "post", "patch", "delete");

    @Test
    void theOpenApiDocumentListsEveryRouteAndNoOther(RedisProcess redis) throws IOException {
        try (TestServer s = TestServer.start(redis.uri())) {
            HttpResponse<String> r = s.send("GET", "/openapi.json", null, null, null);
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode doc = json(r);
            assertThat(doc.get("openapi").asText()).isEqualTo("3.1.0");

            List<String> documented = new ArrayList<>();
            doc.get("paths").fields().forEachRemaining(p -> p.getValue().fieldNames().forEachRemaining(m -> {
                if (METHODS.contains(m)) {
                    documented.add(m.toUpperCase(Locale.ROOT) + " " + p.getKey());
                }
            }));

            assertThat(documented).containsExactlyInAnyOrderElementsOf(s.server.routes());
            doc.get("paths").fields().forEachRemaining(p -> {
                if (p.getKey().startsWith("/api/v1")) {
                    p.getValue().fields().forEachRemaining(m -> {
                        if (METHODS.contains(m.getKey())) {
                            assertThat(m.getValue().has("security")).as(m.getKey() + " " + p.getKey()).isTrue();
                            assertThat(m.getValue().get("responses").has("401")).as(m.getKey() + " " + p.getKey()).isTrue();
                        }
                    });
                }
            });
        }
    }
}
