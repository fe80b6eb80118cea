package io.llmlimiter.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.FairShare;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TenantUsage;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TenantsPhaseTest {

    @Test
    void configSharesTheBudgetAmongTenTenantsOfWeightsOneToTen() {
        LimitConfig c = TenantsPhase.config(Target.parse("bench/t.0"), 500);

        FairShare share = c.fairShare();
        assertThat(share).isNotNull();
        assertThat(share.tenants()).hasSize(TenantsPhase.TENANTS);
        for (int i = 1; i <= TenantsPhase.TENANTS; i++) {
            assertThat(share.shareOf(TenantsPhase.name(i)).weight()).as(TenantsPhase.name(i)).isEqualTo(i);
        }
        assertThat(c.limits()).hasSize(1);
        assertThat(c.maxConcurrent()).isZero();
    }

    @Test
    void admissionsInTheWindowAreTheDifferenceOfTheTwoReadings() {
        List<TenantUsage> before = List.of(usage("tenant-01", 40), usage("tenant-02", 7));
        List<TenantUsage> after = List.of(usage("tenant-01", 55), usage("tenant-02", 7), usage("tenant-03", 12));

        Map<String, Long> admitted = TenantsPhase.admittedBetween(before, after);

        assertThat(admitted).containsExactlyInAnyOrderEntriesOf(Map.of("tenant-01", 15L, "tenant-02", 0L,
                "tenant-03", 12L));
    }

    @Test
    void theTenantsGoalComparesTenTenantsWithOne() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode t = root.putObject("tenants");
        t.put("tenants", TenantsPhase.TENANTS);
        t.putObject("tenants_1").put("redis_cpu_us_per_admit", 20.0);
        t.putObject("tenants_10").put("redis_cpu_us_per_admit", 30.0);
        root.putObject("overload").putObject("limiter").put("redis_cpu_us_per_admit", 10.0)
                .put("admitted_vs_budget", 1.0);

        Targets.evaluate(root);

        assertThat(root.path("ratios").path("tenants_cpu_per_admit_10_vs_1").asDouble()).isEqualTo(1.5);
        assertThat(root.path("ratios").path("tenants_1_cpu_per_admit_vs_overload").asDouble()).isEqualTo(2.0);
        JsonNode goal = null;
        for (JsonNode g : root.path("targets")) {
            if (g.path("target").asText().startsWith("tenants:")) {
                goal = g;
            }
        }
        assertThat(goal).isNotNull();
        assertThat(goal.path("target").asText()).isEqualTo("tenants: Redis CPU per admit, 10 tenants / 1 tenant");
        assertThat(goal.path("goal").asText()).isEqualTo("<= 1.2");
        assertThat(goal.path("met").asBoolean()).isFalse();
    }

    @Test
    void aRunWithoutTheTenantsPhaseHasNoTenantsGoal() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.putObject("overload").putObject("limiter").put("redis_cpu_us_per_admit", 10.0);

        Targets.evaluate(root);

        assertThat(root.path("ratios").has("tenants_cpu_per_admit_10_vs_1")).isFalse();
        for (JsonNode g : root.path("targets")) {
            assertThat(g.path("target").asText()).doesNotStartWith("tenants:");
        }
    }

    @Test
    void markdownShowsBothMeasurementsTheOverloadRowAndEachTenantsShare() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.putObject("env").put("started_at", "2026-12-01T00:00:00Z").put("redis_version", "7.0.15");
        ObjectNode t = root.putObject("tenants");
        t.put("budget_per_s", 500).put("threads", 64).put("window_s", 10).put("tenants", 10);
        t.putArray("weights").add(1).add(10);
        t.putObject("tenants_1").put("admitted_per_s", 500.0).put("redis_cpu_us_per_admit", 12.5);
        ObjectNode many = t.putObject("tenants_10").put("admitted_per_s", 480.0).put("redis_cpu_us_per_admit", 14.0);
        many.putArray("shares").addObject().put("tenant", "tenant-10").put("weight", 10).put("weight_share", 0.182)
                .put("admitted", 875).put("admitted_share", 0.175).put("share_vs_weight", 0.96);
        t.put("cpu_per_admit_10_vs_1", 1.12);

        String md = Report.only(root);

        assertThat(md).contains("### Tenants: 64 blocking callers on one fairly shared target, budget 500/s, 10 s measured",
                "| all of one tenant, fair share | 500.0 |", "| spread over 10 tenants, fair share | 480.0 |",
                "10 tenants / 1 tenant: 1.120", "| tenant-10 | 10 | 0.182 | 875 | 0.175 | 0.96 |");
        assertThat(md).doesNotContain("overload phase: no fair share");

        root.putObject("overload").putObject("limiter").put("admitted_per_s", 500.0).put("redis_cpu_us_per_admit", 11.0);
        assertThat(Report.only(root)).contains("| overload phase: no fair share, no tenant | 500.0 |");
        assertThat(ReadmeTables.summary(root)).contains("Tenants (the overload load on one target shared fairly, "
                + "weights 1 to 10): Redis CPU per admission 12.5 us with all callers of one tenant, 14.0 us spread over "
                + "10 tenants; admitted 500.0/s and 480.0/s.");
    }

    private static TenantUsage usage(String tenant, long requests) {
        return new TenantUsage(tenant, 1, 0.1, requests, requests * 150, 0.1, 0);
    }
}
