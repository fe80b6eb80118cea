package io.llmlimiter.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TenantUsage;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.client.internal.Counters;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Live stats: current concurrency, usage in every configured
 * window, waiting callers, active cooldown, provider 429s and retries, spend (per target and the
 * tenants that spent most), tenants and waits per priority class; and the reset of a target's
 * window state. All targets come from the shared reading ({@link Snapshots}, at most about a
 * second old); one target is read from Redis on every request. Thread-safe.
 */
final class StatsRoutes {

    /** Stats of every target. */
    static final String ALL = "/api/v1/stats";
    /** Stats of one target. */
    static final String ONE = TargetRoutes.ONE + "/stats";
    /**
     * One target's tenants: admitted requests and tokens, share against weight, waiting callers,
     * spend today and this month; and its admission waits per priority class.
     */
    static final String TENANTS = TargetRoutes.ONE + "/tenants";
    /** Reset of one target's window state. */
    static final String RESET = TargetRoutes.ONE + "/reset";

    /** How many tenants the stats of every target list by spend. */
    static final int TOP_TENANTS = 10;
    private static final Comparator<Map.Entry<TargetSnapshot, TenantUsage>> BY_MONTH_SPEND = Comparator
            .<Map.Entry<TargetSnapshot, TenantUsage>>comparingLong(e -> e.getValue().costMonthMicros())
            .thenComparingLong(e -> e.getValue().costTodayMicros());

    private final ConfigStore store;
    private final Snapshots snapshots;

    /**
     * @param store the store
     * @param snapshots the shared reading of every target
     */
    StatsRoutes(ConfigStore store, Snapshots snapshots) {
        this.store = store;
        this.snapshots = snapshots;
    }

    /** @param r where the routes are added */
    void register(RoutesConfig r) {
        r.get(ALL, this::all);
        r.get(ONE, this::one);
        r.get(TENANTS, this::tenants);
        r.post(RESET, this::reset);
    }

    private void all(Context ctx) {
        Snapshots.Reading reading = snapshots.get();
        ObjectNode out = ConfigJson.MAPPER.createObjectNode();
        out.put("at", reading.at().toString());
        ArrayNode targets = out.putArray("targets");
        reading.targets().forEach(s -> targets.add(s.toJson()));
        // Spend over every target, summed in whole micro-dollars, and the tenants that spent most.
        long today = 0;
        long month = 0;
        for (TargetSnapshot s : reading.targets()) {
            today += s.counter(Counters.COST_TODAY);
            month += s.counter(Counters.COST_MONTH);
        }
        out.set("cost", TargetSnapshot.spend(today, month));
        ArrayNode top = out.putArray("tenants");
        for (Map.Entry<TargetSnapshot, TenantUsage> e : topSpenders(reading.targets(), TOP_TENANTS)) {
            top.addObject().put("tenant", e.getValue().tenant()).put("target", e.getKey().target().toString())
                    .set("cost", TargetSnapshot.spend(e.getValue().costTodayMicros(), e.getValue().costMonthMicros()));
        }
        Bodies.send(ctx, 200, out);
    }

    /**
     * @param targets snapshots of the targets
     * @param n how many to keep
     * @return the n tenants (of any target) that spent most this UTC month, most first
     */
    static List<Map.Entry<TargetSnapshot, TenantUsage>> topSpenders(List<TargetSnapshot> targets, int n) {
        PriorityQueue<Map.Entry<TargetSnapshot, TenantUsage>> top = new PriorityQueue<>(BY_MONTH_SPEND);
        for (TargetSnapshot s : targets) {
            for (TenantUsage u : s.tenants()) {
                if (u.costMonthMicros() > 0) {
                    top.add(Map.entry(s, u));
                    if (top.size() > n) {
                        top.poll();
                    }
                }
            }
        }
        List<Map.Entry<TargetSnapshot, TenantUsage>> out = new ArrayList<>(top);
        out.sort(BY_MONTH_SPEND.reversed());
        return out;
    }

    private void one(Context ctx) {
        Target t = TargetRoutes.target(ctx);
        TargetSnapshot s = TargetSnapshot.read(store.admin(), t).orElseThrow(() -> ConfigStore.notFound(t));
        Bodies.send(ctx, 200, s.toJson());
    }

    private void tenants(Context ctx) {
        Target t = TargetRoutes.target(ctx);
        TargetSnapshot s = TargetSnapshot.read(store.admin(), t).orElseThrow(() -> ConfigStore.notFound(t));
        ObjectNode out = ConfigJson.MAPPER.createObjectNode();
        out.put("target", t.toString());
        out.put("fair_share", s.config().fairShare() != null);
        ArrayNode list = out.putArray("tenants");
        for (TenantUsage u : s.tenants()) {
            list.addObject().put("tenant", u.tenant()).put("weight", u.weight()).put("weight_share", u.weightShare())
                    .put("requests", u.requests()).put("tokens", u.tokens()).put("token_share", u.tokenShare())
                    .put("waiting", u.waiting())
                    .set("cost", TargetSnapshot.spend(u.costTodayMicros(), u.costMonthMicros()));
        }
        out.set("waits", s.priorityWaits());
        Bodies.send(ctx, 200, out);
    }

    private void reset(Context ctx) {
        Target t = TargetRoutes.target(ctx);
        if (store.admin().config(t).isEmpty()) {
            throw ConfigStore.notFound(t);
        }
        store.reset(t, TargetRoutes.source(ctx));
        ctx.status(204);
    }
}
