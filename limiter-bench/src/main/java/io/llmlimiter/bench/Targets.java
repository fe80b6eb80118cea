package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;

/**
 * The targets, checked against a run: adds {@code ratios} (llm-limiter over each
 * reference) and {@code targets} (each goal, the measured value and whether it was met) to the
 * results. A benchmark reports targets; it does not fail on them.
 */
final class Targets {

    private Targets() {
    }

    /**
     * @param root the results of {@link Bench#run}
     */
    static void evaluate(ObjectNode root) {
        String ops = "ops_" + mostThreads(root);
        ObjectNode ratios = root.putObject("ratios");
        ratio(ratios, ops + "_vs_floor", num(root, "limiter", ops), num(root, "floor", ops));
        ratio(ratios, ops + "_vs_redisson", num(root, "limiter", ops), num(root, "redisson", ops));
        ratio(ratios, ops + "_vs_sliding_log", num(root, "limiter", ops), num(root, "sliding_log", ops));
        ratio(ratios, ops + "_vs_bucket4j", num(root, "limiter", ops), num(root, "bucket4j", ops));
        ratio(ratios, "cpu_per_admit_vs_redisson", num(root, "overload", "limiter", "redis_cpu_us_per_admit"),
                num(root, "overload", "redisson", "redis_cpu_us_per_admit"));
        ratio(ratios, "cpu_per_admit_vs_bucket4j", num(root, "overload", "limiter", "redis_cpu_us_per_admit"),
                num(root, "overload", "bucket4j", "redis_cpu_us_per_admit"));
        ratio(ratios, "round_trips_per_admit_vs_redisson", num(root, "overload", "limiter", "round_trips_per_admit"),
                num(root, "overload", "redisson", "round_trips_per_admit"));
        ratio(ratios, "script_round_trips_per_admit_vs_redisson",
                num(root, "overload", "limiter", "script_round_trips_per_admit"),
                num(root, "overload", "redisson", "script_round_trips_per_admit"));
        ratio(ratios, "bytes_vs_redisson", num(root, "memory", "limiter", "bytes_per_request"),
                num(root, "memory", "redisson", "bytes_per_permit"));
        String many = "tenants_" + TenantsPhase.TENANTS;
        ratio(ratios, "tenants_cpu_per_admit_" + TenantsPhase.TENANTS + "_vs_1",
                num(root, "tenants", many, "redis_cpu_us_per_admit"), num(root, "tenants", "tenants_1", "redis_cpu_us_per_admit"));
        // Context: what fair sharing costs with one tenant against the same load on a target without it.
        ratio(ratios, "tenants_1_cpu_per_admit_vs_overload", num(root, "tenants", "tenants_1", "redis_cpu_us_per_admit"),
                num(root, "overload", "limiter", "redis_cpu_us_per_admit"));

        ArrayNode targets = root.putArray("targets");
        ratio(ratios, "p50_1_thread_vs_floor", num(root, "limiter", "p50_us"), num(root, "floor", "p50_us"));
        target(targets, "acquire+complete p50 at 1 thread / floor's p50", num(ratios, "p50_1_thread_vs_floor"), 1.5,
                true);
        target(targets, "acquire+complete p99 at 1 thread (us)", num(root, "limiter", "p99_us"), 2000, true);
        target(targets, "throughput " + ops + " / floor", num(ratios, ops + "_vs_floor"), 0.5, false);
        target(targets, "throughput " + ops + " / Redisson RRateLimiter", num(ratios, ops + "_vs_redisson"), 2, false);
        target(targets, "overload Redis CPU per admit / Redisson", num(ratios, "cpu_per_admit_vs_redisson"), 0.5, true);
        target(targets, "bytes per in-window request / Redisson", num(ratios, "bytes_vs_redisson"), 0.5, true);
        if (root.path("tenants").has(many)) {
            target(targets, "tenants: Redis CPU per admit, " + TenantsPhase.TENANTS + " tenants / 1 tenant",
                    num(ratios, "tenants_cpu_per_admit_" + TenantsPhase.TENANTS + "_vs_1"), 1.2, true);
        }
        JsonNode scale = root.path("scale");
        if (scale.has("cpu_per_admit_large_vs_small")) {
            target(targets, "scale: Redis CPU per admit at " + scale.path("large").asInt() + " callers / at "
                    + scale.path("small").asInt(), scale.path("cpu_per_admit_large_vs_small").asDouble(), 1.5, true);
        }
        JsonNode server = root.path("server");
        if (server.has("metrics_stale")) {
            for (String route : new String[] {"metrics", "stats"}) {
                target(targets, "server: " + (route.equals("metrics") ? "/metrics" : "/api/v1/stats") + " p50 at "
                        + server.path("targets").asInt() + " targets, reading stale (ms)",
                        server.path(route + "_stale").path("p50_ms").asDouble(), 200, true);
            }
        }
        double admitted = num(root, "overload", "limiter", "admitted_vs_budget");
        ObjectNode exact = targets.addObject();
        exact.put("target", "overload admitted/s = budget (within 3%)");
        exact.put("measured", admitted);
        exact.put("goal", "0.97 to 1.03");
        exact.put("met", admitted >= 0.97 && admitted <= 1.03);
    }

    private static int mostThreads(ObjectNode root) {
        int most = 0;
        for (Iterator<String> it = root.path("limiter").fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (f.matches("ops_\\d+")) {
                most = Math.max(most, Integer.parseInt(f.substring(4)));
            }
        }
        return most;
    }

    private static void ratio(ObjectNode ratios, String name, double ours, double theirs) {
        if (ours > 0 && theirs > 0) {
            ratios.put(name, Math.round(ours / theirs * 1000) / 1000.0);
        }
    }

    private static void target(ArrayNode targets, String name, double measured, double goal, boolean atMost) {
        ObjectNode t = targets.addObject();
        t.put("target", name);
        t.put("measured", measured);
        t.put("goal", (atMost ? "<= " : ">= ") + goal);
        t.put("met", measured > 0 && (atMost ? measured <= goal : measured >= goal));
    }

    /** @return the number at the path, or 0 when absent */
    static double num(JsonNode node, String... path) {
        JsonNode n = node;
        for (String p : path) {
            n = n.path(p);
        }
        return n.asDouble(0);
    }
}
