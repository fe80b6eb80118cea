package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TenantsRouteTest {

    private TestServer s;

    @BeforeAll
    void start(RedisProcess redis) throws IOException {
        s = TestServer.start(redis.uri());
    }

    @AfterAll
    void stop() {
        s.close();
    }

    @Test
    void tenantsShowAdmittedRequestsAndTokensAgainstTheirWeights() throws Exception {
        Target t = Target.parse("tenants/shown");
        HttpResponse<String> put = s.send("PUT", "/api/v1/targets/tenants/shown", "{\"limits\":\"requests=100/60s\","
                + "\"fair_share\":{\"tenants\":{\"search\":{\"weight\":3},\"etl\":{\"weight\":1,\"cap\":0.5}}}}");
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        s.limiter.acquire(t, Tenant.of("search"), Estimate.tokens(300), Duration.ofSeconds(5)).close();
        s.limiter.acquire(t, Tenant.of("search"), Estimate.tokens(300), Duration.ofSeconds(5)).close();
        s.limiter.acquire(t, Tenant.of("etl", Priority.BATCH), Estimate.tokens(200), Duration.ofSeconds(5)).close();

        HttpResponse<String> r = s.get("/api/v1/targets/tenants/shown/tenants");

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = json(r);
        assertThat(body.get("fair_share").asBoolean()).isTrue();
        JsonNode first = body.get("tenants").get(0);
        assertThat(first.get("tenant").asText()).isEqualTo("search");
        assertThat(first.get("requests").asLong()).isEqualTo(2);
        assertThat(first.get("tokens").asLong()).isEqualTo(600);
        assertThat(first.get("weight_share").asDouble()).isEqualTo(0.75);
        assertThat(first.get("token_share").asDouble()).isEqualTo(0.75);
        assertThat(body.get("tenants").get(1).get("tenant").asText()).isEqualTo("etl");
    }

    @Test
    void badFairShareValuesAreRefusedNamingTheField() throws Exception {
        HttpResponse<String> r = s.send("PUT", "/api/v1/targets/tenants/bad", "{\"limits\":\"requests=100/60s\","
                + "\"fair_share\":{\"tenants\":{\"a\":{\"reserve\":0.7},\"b\":{\"reserve\":0.5}}}}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("application/problem+json");
        assertThat(r.body()).contains("reserves add up to 120.0%");

        HttpResponse<String> w = s.send("PUT", "/api/v1/targets/tenants/bad", "{\"limits\":\"requests=100/60s\","
                + "\"fair_share\":{\"tenants\":{\"a\":{\"weight\":-1}}}}");
        assertThat(w.statusCode()).isEqualTo(400);
        assertThat(w.body()).contains("fair_share", "tenants.a", "weight");

        HttpResponse<String> o = s.send("PUT", "/api/v1/targets/tenants/bad", "{\"limits\":\"requests=100/60s\","
                + "\"fair_share\":{\"priorities\":{\"order\":[\"batch\"]}}}");
        assertThat(o.statusCode()).isEqualTo(400);
        assertThat(o.body()).contains("priorities.order");
        assertThat(s.get("/api/v1/targets/tenants/bad").statusCode()).isEqualTo(404);
    }
}
