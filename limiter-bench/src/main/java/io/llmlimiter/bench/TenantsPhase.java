package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.FairShare;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.client.TenantShare;
import io.llmlimiter.client.TenantUsage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tenants: the overload phase's callers (blocking {@code acquire(maxWait 30 s)} + {@code complete},
 * against a budget far below their demand) on a target that shares fairly among {@link #TENANTS}
 * tenants of weights 1 to {@link #TENANTS}. Measured twice on that same config: every caller of
 * one tenant, then the callers spread over all of them, every tenant backlogged. Fair sharing
 * should cost Redis little more per admitted call than one tenant does (the {@code tenants}
 * goal), and each tenant's share of the admissions should follow its weight; the shares come from
 * {@link LimiterAdmin#tenants(Target)}, read at both edges of the measured window. Like the
 * overload phase, {@link PhaseContext#repeats()} interleaved rounds, the median reported. Not
 * thread-safe.
 */
final class TenantsPhase {

    /** Tenants of the spread measurement; tenant {@code i} (1-based) has weight {@code i}. */
    static final int TENANTS = 10;
    /** The quick run's window, shorter than its overload window: two measurements per round. */
    static final Duration QUICK_WINDOW = Duration.ofSeconds(3);

    private static final Duration MAX_WAIT = Duration.ofSeconds(30);

    private final PhaseContext ctx;
    private final RedisEndpoint endpoint;

    /**
     * @param ctx the run's shared state
     * @param endpoint the Redis under test
     */
    TenantsPhase(PhaseContext ctx, RedisEndpoint endpoint) {
        this.ctx = ctx;
        this.endpoint = endpoint;
    }

    /** One measurement: the load, the target's counters over the phase, admissions per tenant in the window. */
    private record Arm(LoadRunner.Result result, Map<String, Long> counters, Map<String, Long> admitted) {
    }

    /**
     * @param root where the {@code tenants} object goes: {@code tenants_1} and
     *     {@code tenants_<TENANTS>} (each as an overload measurement, plus {@code shares}: each
     *     tenant's admissions in the window against its weight) and their ratio
     *     {@code cpu_per_admit_<TENANTS>_vs_1}
     */
    void run(ObjectNode root) {
        BenchSettings s = ctx.settings();
        Duration window = "quick".equals(s.mode()) && s.overloadWindow().compareTo(QUICK_WINDOW) > 0
                ? QUICK_WINDOW : s.overloadWindow();
        ObjectNode node = root.putObject("tenants");
        node.put("budget_per_s", s.budget());
        node.put("threads", s.overloadThreads());
        node.put("window_s", window.toSeconds());
        node.put("tenants", TENANTS);
        ArrayNode weights = node.putArray("weights");
        for (int i = 1; i <= TENANTS; i++) {
            weights.add(weight(i));
        }
        int[] arms = {1, TENANTS};
        Map<Integer, List<Arm>> byArm = new HashMap<>();
        for (int round = 0; round < ctx.repeats(); round++) {
            for (int i = 0; i < arms.length; i++) {
                int tenants = arms[(i + round) % arms.length];
                byArm.computeIfAbsent(tenants, k -> new ArrayList<>()).add(measure(tenants, round, window));
            }
        }
        for (int tenants : arms) {
            List<Arm> rounds = new ArrayList<>(byArm.get(tenants));
            ArrayNode cpu = node.putObject("tenants_" + tenants).putArray("redis_cpu_us_per_admit_rounds");
            for (Arm a : rounds) {
                cpu.add(PhaseContext.round(a.result().cpuMicrosPerOp()));
            }
            rounds.sort(Comparator.comparingDouble(a -> a.result().cpuMicrosPerOp()));
            Arm median = rounds.get(rounds.size() / 2);
            ObjectNode n = (ObjectNode) node.get("tenants_" + tenants);
            OverloadPhase.record(n, label(tenants), median.result(), median.counters(), s.budget());
            shares(n.putArray("shares"), tenants, median.admitted());
        }
        double one = node.path("tenants_1").path("redis_cpu_us_per_admit").asDouble();
        double many = node.path("tenants_" + TENANTS).path("redis_cpu_us_per_admit").asDouble();
        if (one > 0 && many > 0) {
            node.put("cpu_per_admit_" + TENANTS + "_vs_1", Math.round(1000 * many / one) / 1000.0);
        }
        ctx.log().printf("tenants: Redis CPU per admit %.1f us with 1 tenant, %.1f us with %d tenants%n", one, many,
                TENANTS);
    }

    private Arm measure(int tenants, int round, Duration window) {
        BenchSettings s = ctx.settings();
        try (LimiterContender c = new LimiterContender(endpoint.uri(), 1)) {
            String ns = ctx.namespace(c.key(), "tenants" + tenants + "-r" + round);
            Target target = LimiterContender.target(ns, 0);
            c.limiter().admin().putConfig(config(target, s.budget()));
            Tenant[] callers = new Tenant[tenants];
            for (int i = 0; i < tenants; i++) {
                callers[i] = Tenant.of(name(i + 1));
            }
            List<List<TenantUsage>> readings = new ArrayList<>();
            LoadRunner.Result r = ctx.measure(c, "tenants_" + tenants, label(tenants), s.overloadThreads(),
                    s.overloadWarmup(), window, thread -> {
                        Permit permit = c.limiter().acquire(target, callers[thread % tenants],
                                LimiterContender.ESTIMATE, MAX_WAIT);
                        permit.complete(LimiterContender.USAGE);
                    }, null, () -> readings.add(c.limiter().admin().tenants(target)));
            Map<String, Long> counters = c.counters(ns);
            ctx.cleanUp(c.keyPattern(ns));
            return new Arm(r, counters, admittedBetween(readings.get(0), readings.get(readings.size() - 1)));
        }
    }

    /** The phase's config: the overload phase's budget, shared fairly among the tenants by weight. */
    static LimitConfig config(Target target, int perSecond) {
        FairShare.Builder share = FairShare.builder();
        for (int i = 1; i <= TENANTS; i++) {
            share.tenant(name(i), TenantShare.weight(weight(i)));
        }
        return LimitConfig.builder(target).limits("requests=" + perSecond + "/1s").maxConcurrent(0)
                .deliveryMargin(Duration.ZERO).fairShare(share.build()).build();
    }

    /** @return the name of tenant {@code i}, 1-based */
    static String name(int i) {
        return String.format(java.util.Locale.ROOT, "tenant-%02d", i);
    }

    private static int weight(int i) {
        return i;
    }

    private static String label(int tenants) {
        return "llm-limiter acquire(maxWait 30 s) + complete, fair share, "
                + (tenants == 1 ? "1 tenant" : tenants + " tenants of weights 1 to " + TENANTS);
    }

    /** @return requests admitted per tenant between two readings of the tenants hash */
    static Map<String, Long> admittedBetween(List<TenantUsage> before, List<TenantUsage> after) {
        Map<String, Long> start = new HashMap<>();
        before.forEach(u -> start.put(u.tenant(), u.requests()));
        Map<String, Long> out = new HashMap<>();
        after.forEach(u -> out.put(u.tenant(), u.requests() - start.getOrDefault(u.tenant(), 0L)));
        return out;
    }

    /** Each tenant that had callers: weight, weight share, admissions in the window and their share. */
    private static void shares(ArrayNode out, int tenants, Map<String, Long> admitted) {
        double weights = 0;
        long total = 0;
        for (int i = 1; i <= tenants; i++) {
            weights += weight(i);
            total += admitted.getOrDefault(name(i), 0L);
        }
        for (int i = 1; i <= tenants; i++) {
            long a = admitted.getOrDefault(name(i), 0L);
            double weightShare = weight(i) / weights;
            double share = total == 0 ? 0 : (double) a / total;
            out.addObject().put("tenant", name(i)).put("weight", weight(i))
                    .put("weight_share", Math.round(weightShare * 1000) / 1000.0)
                    .put("admitted", a)
                    .put("admitted_share", Math.round(share * 1000) / 1000.0)
                    .put("share_vs_weight", Math.round(share / weightShare * 1000) / 1000.0);
        }
    }
}
