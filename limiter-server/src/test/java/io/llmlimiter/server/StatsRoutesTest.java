package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StatsRoutesTest {

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
    void statsShowConcurrencyUsageInEveryWindowCooldownProvider429sAndRetries() throws Exception {
        Target t = Target.parse("stats/live");
        s.send("PUT", "/api/v1/targets/stats/live",
                "{\"limits\":\"requests=5/60s,tokens=1000/60s\",\"max_concurrent\":3,\"base_retry_delay\":0.01}");
        try (Permit held = s.limiter.acquire(t, Estimate.of(100, 50), Duration.ofSeconds(5))) {
            try (Permit p = s.limiter.acquire(t, Estimate.of(10, 10), Duration.ofSeconds(5))) {
                p.complete(Usage.of(10, 10));
            }
            AtomicInteger attempts = new AtomicInteger();
            s.limiter.execute(t, Estimate.of(1, 1), ctx -> {
                if (attempts.getAndIncrement() == 0) {
                    throw new ConnectException("connection refused");
                }
                return "ok";
            });
            s.limiter.reportRateLimited(t, Duration.ofMinutes(5));

            HttpResponse<String> r = s.get("/api/v1/targets/stats/live/stats");

            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode st = json(r);
            assertThat(st.get("target").asText()).isEqualTo("stats/live");
            assertThat(st.get("concurrency").get("in_flight").asLong()).isEqualTo(1);
            assertThat(st.get("concurrency").get("max_concurrent").asLong()).isEqualTo(3);
            assertThat(st.get("waiting").asLong()).isZero();
            JsonNode requests = st.get("windows").get(0);
            assertThat(requests.get("resource").asText()).isEqualTo("requests");
            assertThat(requests.get("amount").asLong()).isEqualTo(5);
            assertThat(requests.get("window").asText()).isEqualTo("60s");
            assertThat(requests.get("used").asLong()).isEqualTo(4);
            // No provider 429 reached execute (a cooldown report is not one): nothing learned.
            assertThat(requests.get("effective").asLong()).isEqualTo(5);
            assertThat(requests.get("reason").asText()).isEqualTo("configured");
            assertThat(requests.get("counted_for").asText()).isEqualTo("60250ms");
            assertThat(st.get("delivery_margin_ms").asLong()).isEqualTo(250);
            JsonNode tokens = st.get("windows").get(1);
            assertThat(tokens.get("resource").asText()).isEqualTo("tokens");
            assertThat(tokens.get("amount").asLong()).isEqualTo(1000);
            assertThat(tokens.get("used").asLong()).isGreaterThanOrEqualTo(150 + 20);
            assertThat(st.get("cooldown").get("active").asBoolean()).isTrue();
            assertThat(st.get("cooldown").get("remaining_ms").asLong()).isPositive();
            assertThat(st.get("provider_429").asLong()).isEqualTo(1);
            assertThat(st.get("retries").asLong()).isEqualTo(1);
            assertThat(st.get("counters").get("admitted").asLong()).isEqualTo(4);
            assertThat(st.get("counters").get("completed").asLong()).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void statsOfAllTargetsListEveryConfiguredTarget() {
        HttpResponse<String> r = s.get("/api/v1/stats");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"target\":\"openai/gpt-4\"").contains("\"target\":\"deepseek/deepseek-chat\"");
        assertThat(json(r).get("at").asText()).isNotBlank();
    }

    @Test
    void statsOfAllTargetsListTheTenTenantsThatSpentMostThisMonthOverEveryTarget() {
        // $10 per million input tokens: tenant k of target j spends $0.00(k + 1) (+ $0.0001 on the second target).
        for (String model : java.util.List.of("spend-a", "spend-b")) {
            Target t = new Target("stats", model);
            assertThat(s.send("PUT", "/api/v1/targets/stats/" + model, "{\"limits\":\"requests=100/60s\","
                    + "\"prices\":{\"input_mtok\":10,\"output_mtok\":10}}").statusCode()).isEqualTo(201);
            for (int k = 0; k < 6; k++) {
                long in = (k + 1) * 100 + (model.equals("spend-b") ? 10 : 0);
                try (Permit p = s.limiter.acquire(t, io.llmlimiter.client.Tenant.of("team" + k), Estimate.of(in, 0),
                        Duration.ofSeconds(5))) {
                    p.complete(Usage.of(in, 0));
                }
            }
            s.limiter.admin().stats(t);
        }

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            JsonNode top = json(s.get("/api/v1/stats")).get("tenants");
            assertThat(top).hasSize(10);
            assertThat(top.get(0).get("tenant").asText()).isEqualTo("team5");
            assertThat(top.get(0).get("target").asText()).isEqualTo("stats/spend-b");
            assertThat(top.get(0).get("cost").get("month_usd").decimalValue()).isEqualByComparingTo("0.0061");
            assertThat(top.get(0).get("cost").get("today_usd").decimalValue()).isEqualByComparingTo("0.0061");
            assertThat(top.get(1).get("tenant").asText()).isEqualTo("team5");
            assertThat(top.get(1).get("target").asText()).isEqualTo("stats/spend-a");
            // The two least of the twelve are left out.
            assertThat(top.get(9).get("tenant").asText()).isEqualTo("team1");
            assertThat(top.get(9).get("target").asText()).isEqualTo("stats/spend-a");
            assertThat(top.get(9).get("cost").get("month_usd").decimalValue()).isEqualByComparingTo("0.002");
        });
    }

    @Test
    void aWaitingCallerIsCountedAndResetForgetsTheWindowSoItIsAdmitted() throws Exception {
        Target t = Target.parse("stats/reset");
        s.send("PUT", "/api/v1/targets/stats/reset", "{\"limits\":\"requests=1/20s\"}");
        s.limiter.tryAcquire(t, Estimate.requestOnly()).orElseThrow().close();
        CompletableFuture<Permit> waiter = s.limiter.acquireAsync(t, Estimate.requestOnly(), Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(10)).until(() -> json(s.get("/api/v1/targets/stats/reset/stats")).get("waiting").asLong() == 1);
        assertThat(json(s.get("/api/v1/targets/stats/reset/stats")).get("windows").get(0).get("used").asLong()).isEqualTo(1);

        HttpResponse<String> reset = s.send("POST", "/api/v1/targets/stats/reset/reset", null);

        assertThat(reset.statusCode()).isEqualTo(204);
        try (Permit admitted = waiter.get(10, java.util.concurrent.TimeUnit.SECONDS)) {
            assertThat(admitted).isNotNull();
        }
        assertThat(s.limiter.admin().config(t)).isPresent();
        assertThat(java.nio.file.Files.readString(s.auditLog())).contains("\"action\":\"reset\"");
    }
}
