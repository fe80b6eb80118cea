package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.client.Usage;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.math.BigDecimal;
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
        // The stats say which targets have tenants to show.
        assertThat(json(s.get("/api/v1/targets/tenants/shown/stats")).get("fair_share").asBoolean()).isTrue();
        assertThat(json(s.get("/api/v1/targets/openai/gpt-4/stats")).get("fair_share").asBoolean()).isFalse();
    }

    @Test
    void eachTenantShowsItsSpendTodayAndThisMonthAndTheTargetItsWaitsPerPriorityClass() throws Exception {
        Target t = Target.parse("tenants/priced");
        HttpResponse<String> put = s.send("PUT", "/api/v1/targets/tenants/priced", "{\"limits\":\"requests=100/60s\","
                + "\"prices\":{\"input_mtok\":10,\"output_mtok\":40}}");
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        // $10 / $40 per million: 1000 in and 100 out is $0.014; 2000 in and 1000 out is $0.06.
        call(t, Tenant.of("search"), 1000, 100);
        call(t, Tenant.of("search"), 1000, 100);
        call(t, Tenant.of("etl", Priority.BATCH), 2000, 1000);
        // Sends what this process added up.
        s.limiter.admin().stats(t);

        JsonNode body = json(s.get("/api/v1/targets/tenants/priced/tenants"));

        assertThat(body.get("fair_share").asBoolean()).isFalse();
        JsonNode etl = body.get("tenants").get(0);
        assertThat(etl.get("tenant").asText()).isEqualTo("etl");
        assertThat(etl.get("cost").get("month_usd").decimalValue()).isEqualByComparingTo(new BigDecimal("0.06"));
        assertThat(etl.get("cost").get("today_usd").decimalValue()).isEqualByComparingTo(new BigDecimal("0.06"));
        JsonNode search = body.get("tenants").get(1);
        assertThat(search.get("tenant").asText()).isEqualTo("search");
        assertThat(search.get("cost").get("month_usd").decimalValue()).isEqualByComparingTo(new BigDecimal("0.028"));
        JsonNode waits = body.get("waits");
        assertThat(waits.get("interactive").get("count").asLong()).isEqualTo(2);
        assertThat(waits.get("batch").get("count").asLong()).isEqualTo(1);
        assertThat(waits.get("background").get("count").asLong()).isZero();
        assertThat(waits.get("interactive").get("max_ms").asDouble())
                .isGreaterThanOrEqualTo(waits.get("interactive").get("mean_ms").asDouble()).isPositive();
    }

    @Test
    void tenantsOfAnUnknownOrBadlyNamedTargetAreAProblem() throws Exception {
        HttpResponse<String> missing = s.get("/api/v1/targets/tenants/none/tenants");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.headers().firstValue("content-type").orElse("")).startsWith("application/problem+json");
        HttpResponse<String> bad = s.get("/api/v1/targets/ten%20ants/x/tenants");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.headers().firstValue("content-type").orElse("")).startsWith("application/problem+json");
    }

    private void call(Target t, Tenant tenant, long in, long out) {
        try (Permit p = s.limiter.acquire(t, tenant, Estimate.of(in, out), Duration.ofSeconds(5))) {
            p.complete(Usage.of(in, out));
        }
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
