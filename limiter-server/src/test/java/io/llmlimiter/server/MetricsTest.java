package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.retry.HttpStatusException;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@WithRedis
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsTest {

    private TestServer s;

    @BeforeAll
    void start(RedisProcess redis) throws IOException {
        s = TestServer.start(redis.uri());
    }

    @AfterAll
    void stop() {
        s.close();
    }

    private String scrape() {
        HttpResponse<String> r = s.get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        return r.body();
    }

    @Test
    void tenantsHaveSeriesOfTheirOwnUpToTheCapAndTheRestAddUpUnderOther() {
        Target t = Target.parse("metrics/tenants");
        assertThat(s.send("PUT", "/api/v1/targets/metrics/tenants", "{\"limits\":\"requests=1000/60s\","
                + "\"prices\":{\"input_mtok\":10,\"output_mtok\":10},\"fair_share\":{}}").statusCode()).isEqualTo(201);
        // Two more tenants than the cap; tenant k is admitted k + 1 times: the two least go under other.
        int n = io.llmlimiter.server.ServerMetrics.METRIC_TENANTS + 2;
        for (int k = 0; k < n; k++) {
            for (int i = 0; i <= k; i++) {
                try (Permit p = s.limiter.acquire(t, io.llmlimiter.client.Tenant.of("team" + k,
                        k == 0 ? io.llmlimiter.client.Priority.BATCH : io.llmlimiter.client.Priority.INTERACTIVE),
                        Estimate.of(100, 0), Duration.ofSeconds(5))) {
                    p.complete(io.llmlimiter.client.Usage.of(100, 0));
                }
            }
        }
        s.limiter.admin().stats(t);

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            String m = scrape();
            assertThat(m).contains("llmlimiter_tenant_admitted_requests_total{target=\"metrics/tenants\",tenant=\"team21\"} 22.0");
            // team0 (1 call) and team1 (2 calls): 3 requests, $0.003.
            assertThat(m).contains("llmlimiter_tenant_admitted_requests_total{target=\"metrics/tenants\",tenant=\"other\"} 3.0");
            assertThat(m).contains("llmlimiter_tenant_cost_usd_total{target=\"metrics/tenants\",tenant=\"other\"} 0.003");
            assertThat(m).contains("llmlimiter_tenant_cost_usd_total{target=\"metrics/tenants\",tenant=\"team2\"} 0.003");
            assertThat(m).contains("llmlimiter_tenant_waiting{target=\"metrics/tenants\",tenant=\"team2\"} 0.0");
            assertThat(m).doesNotContain("tenant=\"team0\"").doesNotContain("tenant=\"team1\"");
            assertThat(m).contains("llmlimiter_target_admission_wait_seconds_count{priority=\"batch\",target=\"metrics/tenants\"} 1");
            assertThat(m).contains("llmlimiter_target_admission_wait_seconds_count{priority=\"interactive\",target=\"metrics/tenants\"} "
                    + (n * (n + 1) / 2 - 1));
            assertThat(m).contains("llmlimiter_target_admission_wait_max_seconds{priority=\"batch\",target=\"metrics/tenants\"}");
            assertThat(m).doesNotContain("priority=\"background\",target=\"metrics/tenants\"");
        });
    }

    @Test
    void httpRequestsAreTimedByRouteTemplateNeverByRawPath() {
        s.get("/api/v1/targets/openai/gpt-4");
        s.get("/api/v1/targets/deepseek/deepseek-chat");
        s.get("/api/v1/no-such-route-12345");

        String m = scrape();

        assertThat(m).contains("http_server_requests_seconds_count{method=\"GET\",outcome=\"SUCCESS\","
                + "route=\"/api/v1/targets/{provider}/{model}\",status=\"200\"} 2");
        assertThat(m).contains("route=\"unmatched\",status=\"404\"");
        assertThat(m).doesNotContain("/api/v1/targets/openai/gpt-4").doesNotContain("no-such-route-12345");
    }

    @Test
    void eachTargetHasGaugesOfUsageAgainstEveryLimitConcurrencyWaitingAndCooldown() {
        Target t = Target.parse("metrics/m1");
        s.send("PUT", "/api/v1/targets/metrics/m1", "{\"limits\":\"requests=50/60s,tokens=9000/1h\",\"max_concurrent\":4}");
        try (Permit p = s.limiter.acquire(t, Estimate.of(100, 20), Duration.ofSeconds(5))) {
            s.limiter.reportRateLimited(t, Duration.ofMinutes(2));

            // Metrics come from a reading at most about a second old.
            await().atMost(Duration.ofSeconds(5)).until(() -> scrape().contains(
                    "llmlimiter_target_events_total{event=\"provider_429\",target=\"metrics/m1\"} 1.0"));
            String m = scrape();

            assertThat(m).contains("llmlimiter_target_window_limit{resource=\"requests\",target=\"metrics/m1\",window=\"60s\"} 50.0");
            assertThat(m).contains("llmlimiter_target_window_used{resource=\"requests\",target=\"metrics/m1\",window=\"60s\"} 1.0");
            assertThat(m).contains("llmlimiter_target_window_limit{resource=\"tokens\",target=\"metrics/m1\",window=\"1h\"} 9000.0");
            assertThat(m).contains("llmlimiter_target_window_used{resource=\"tokens\",target=\"metrics/m1\",window=\"1h\"} 120.0");
            assertThat(m).contains("llmlimiter_target_inflight{target=\"metrics/m1\"} 1.0");
            assertThat(m).contains("llmlimiter_target_max_concurrent{target=\"metrics/m1\"} 4.0");
            assertThat(m).contains("llmlimiter_target_waiting{target=\"metrics/m1\"} 0.0");
            assertThat(m).containsPattern("llmlimiter_target_cooldown_remaining_seconds\\{target=\"metrics/m1\"} 1[0-9]{2}\\.");
            assertThat(m).contains("llmlimiter_target_events_total{event=\"admitted\",target=\"metrics/m1\"} 1.0");
            assertThat(m).contains("llmlimiter_target_events_total{event=\"provider_429\",target=\"metrics/m1\"} 1.0");
            assertThat(m).contains("llmlimiter_target_tokens_total{kind=\"actual_input\",target=\"metrics/m1\"}");
            assertThat(m).contains("llmlimiter_redis_up 1.0");
        }
    }

    @Test
    void theEffectiveAmountOfEachLimitIsShownBesideTheConfiguredOneWithWhyTheyDiffer() {
        Target t = Target.parse("metrics/learned");
        s.send("PUT", "/api/v1/targets/metrics/learned", "{\"limits\":\"requests=40/60s,tokens=9000/60s\","
                + "\"delivery_margin_ms\":100,\"base_retry_delay\":0.01}");
        String before = scrape();
        assertThat(before).contains("llmlimiter_target_window_effective{reason=\"configured\",resource=\"requests\","
                + "target=\"metrics/learned\",window=\"60s\"} 40.0");
        assertThat(before).contains("llmlimiter_target_delivery_margin_seconds{target=\"metrics/learned\"} 0.1");

        AtomicInteger attempts = new AtomicInteger();
        s.limiter.execute(t, Estimate.requestOnly(), ctx -> {
            if (attempts.getAndIncrement() == 0) {
                throw new HttpStatusException(429);
            }
            return "ok";
        });

        await().atMost(Duration.ofSeconds(5)).until(() -> scrape().contains(
                "llmlimiter_target_events_total{event=\"learned_429\",target=\"metrics/learned\"} 1.0"));
        String m = scrape();
        // The binding limit (requests, the fuller of the two) halves at most: 20 of 40.
        assertThat(m).contains("llmlimiter_target_window_limit{resource=\"requests\",target=\"metrics/learned\",window=\"60s\"} 40.0");
        assertThat(m).contains("llmlimiter_target_window_effective{reason=\"429\",resource=\"requests\","
                + "target=\"metrics/learned\",window=\"60s\"} 20.0");
        assertThat(m).doesNotContain("llmlimiter_target_window_effective{reason=\"configured\",resource=\"requests\","
                + "target=\"metrics/learned\"");
        assertThat(m).contains("llmlimiter_target_window_effective{reason=\"configured\",resource=\"tokens\","
                + "target=\"metrics/learned\",window=\"60s\"} 9000.0");
        assertThat(m).contains("llmlimiter_target_events_total{event=\"learned_429\",target=\"metrics/learned\"} 1.0");
    }

    @Test
    void aDeletedTargetsMetersGoAway() {
        s.send("PUT", "/api/v1/targets/metrics/gone", "{\"limits\":\"requests=5/1s\"}");
        assertThat(scrape()).contains("target=\"metrics/gone\"");

        s.send("DELETE", "/api/v1/targets/metrics/gone", null);

        assertThat(scrape()).doesNotContain("target=\"metrics/gone\"");
    }
}
