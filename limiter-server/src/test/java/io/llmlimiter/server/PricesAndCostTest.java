package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.ModelPrice;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import io.llmlimiter.client.internal.Pricing;
import io.llmlimiter.client.internal.PriceSync;
import io.llmlimiter.client.internal.RedisLimiter;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The fleet's price table over REST, and the cost of calls in stats and metrics. */
@WithRedis
class PricesAndCostTest {

    private static String table(String model, String input) {
        return "[{\"id\": \"mock\", \"models\": [{\"id\": \"" + model + "\", \"match\": {\"equals\": \"" + model
                + "\"}, \"prices\": {\"input_mtok\": " + input + ", \"output_mtok\": 2}}]}]";
    }

    @Test
    void aNewTableReplacesTheOldWholeAndABadOneIsRefusedNamingTheFieldWhileTheOldStays(RedisProcess redis)
            throws IOException {
        try (TestServer s = TestServer.start(redis.uri())) {
            Pricing pricing = ((RedisLimiter) s.limiter).pricing();
            PriceSync sync = ((RedisLimiter) s.limiter).priceSync();
            assertThat(json(s.get("/api/v1/prices")).get("source").asText()).isEqualTo("bundled");

            HttpResponse<String> ok = s.send("PUT", "/api/v1/prices", table("first", "1"));
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
            String sha = json(ok).get("sha").asText();
            sync.check().join();
            assertThat(pricing.table().find(new Target("mock", "first"))).hasValue(ModelPrice.of("1", "2"));

            // A table with one good and one bad model: refused whole, nothing of it is used.
            String bad = table("second", "1").replace("]}]", "]}, {\"id\": \"third\", \"match\": {\"equals\": "
                    + "\"third\"}, \"prices\": {\"input_mtok\": -3, \"output_mtok\": 2}}]}]");
            bad = bad.replace("\"prices\": {\"input_mtok\": 1, \"output_mtok\": 2}}]}, {", "\"prices\": {\"input_mtok\": 1, "
                    + "\"output_mtok\": 2}}, {").replace("]}]}]", "]}]");
            HttpResponse<String> refused = s.send("PUT", "/api/v1/prices", bad);
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
            assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            JsonNode p = json(refused);
            assertThat(p.get("type").asText()).isEqualTo("urn:llmlimiter:problem:invalid-prices");
            assertThat(p.get("errors").get(0).get("field").asText()).isEqualTo("providers[mock].models[third].prices.input_mtok");
            HttpResponse<String> currency = s.send("PUT", "/api/v1/prices", "{\"currency\": \"EUR\", \"providers\": []}");
            assertThat(currency.statusCode()).isEqualTo(400);
            assertThat(json(currency).get("errors").get(0).get("field").asText()).isEqualTo("currency");
            HttpResponse<String> text = s.send("PUT", "/api/v1/prices", table("x", "\"cheap\""));
            assertThat(json(text).get("errors").get(0).get("field").asText()).isEqualTo("providers[mock].models[x].prices.input_mtok");

            assertThat(json(s.get("/api/v1/prices")).get("sha").asText()).isEqualTo(sha);
            sync.check().join();
            assertThat(pricing.table().find(new Target("mock", "first"))).isPresent();
            assertThat(pricing.table().find(new Target("mock", "second"))).isEmpty();

            // A bad table that reached Redis some other way is refused by the clients as a whole too.
            RedisClient client = RedisClient.create(redis.uri());
            try (StatefulRedisConnection<String, String> c = client.connect()) {
                c.sync().hset(PriceSync.KEY, java.util.Map.of("json", bad, "sha", PriceSync.sha1(bad)));
            } finally {
                client.shutdown();
            }
            sync.check().join();
            assertThat(pricing.table().find(new Target("mock", "first"))).isPresent();
            assertThat(pricing.table().find(new Target("mock", "second"))).isEmpty();
        }
    }

    @Test
    void theCostOfCallsShowsInStatsAndMetricsPerTargetTodayAndThisMonth(RedisProcess redis) throws IOException {
        try (TestServer s = TestServer.start(redis.uri())) {
            Target t = Target.parse("mock/priced");
            HttpResponse<String> put = s.send("PUT", "/api/v1/targets/mock/priced", "{\"limits\": \"requests=100/1m\", "
                    + "\"budgets\": [\"usd=20/day\", \"usd=50/1d\"], \"prices\": {\"input_mtok\": 2.5, \"output_mtok\": 10}}");
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            // 1000 in at $2.50/M and 300 out at $10/M: $0.0055 a call, twice.
            for (int i = 0; i < 2; i++) {
                try (Permit p = s.limiter.acquire(t, Estimate.of(1000, 500), Duration.ofSeconds(5))) {
                    p.complete(Usage.of(1000, 300));
                }
            }

            await().atMost(Duration.ofSeconds(5)).until(() -> s.get("/metrics").body()
                    .contains("llmlimiter_cost_usd_total{target=\"mock/priced\"} 0.011"));
            JsonNode cost = json(s.get("/api/v1/targets/mock/priced/stats")).get("cost");
            assertThat(cost.get("total_usd").decimalValue()).isEqualByComparingTo(new BigDecimal("0.011"));
            assertThat(cost.get("today_usd").decimalValue()).isEqualByComparingTo(new BigDecimal("0.011"));
            assertThat(cost.get("month_usd").decimalValue()).isEqualByComparingTo(new BigDecimal("0.011"));
            assertThat(cost.get("budgets").get(0).get("budget").asText()).isEqualTo("usd=20/day");
            assertThat(cost.get("budgets").get(0).get("reserved_usd").decimalValue()).isEqualByComparingTo(new BigDecimal("0.011"));
            assertThat(cost.get("budgets").get(0).get("left_usd").decimalValue()).isEqualByComparingTo(new BigDecimal("19.989"));
            String m = s.get("/metrics").body();
            assertThat(m).contains("llmlimiter_cost_usd_today{target=\"mock/priced\"} 0.011");
            assertThat(m).contains("llmlimiter_target_budget_usd{budget=\"usd=20/day\",target=\"mock/priced\"} 20.0");
        }
    }

    @Test
    void badBudgetsAndPricesInAConfigAreRefusedNamingTheField(RedisProcess redis) throws IOException {
        try (TestServer s = TestServer.start(redis.uri())) {
            HttpResponse<String> r = s.send("PUT", "/api/v1/targets/mock/bad", "{\"limits\": \"requests=1/1s\", "
                    + "\"prices\": {\"input_mtok\": -1, \"output_mtok\": 10}}");
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.body()).contains("prices.input_mtok must not be negative");
            r = s.send("PUT", "/api/v1/targets/mock/bad", "{\"limits\": \"requests=1/1s,usd=ten/day\"}");
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.body()).contains("usd must be a number");
            r = s.send("PUT", "/api/v1/targets/mock/bad", "{\"limits\": \"requests=1/1s\", \"budgets\": [\"usd=5/fortnight\"]}");
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(json(r).get("errors").get(0).get("field").asText()).startsWith("budgets");
            assertThat(s.get("/api/v1/targets/mock/bad").statusCode()).isEqualTo(404);
        }
    }
}
