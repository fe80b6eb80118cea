package io.llmlimiter.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.client.internal.Counters;

/**
 * Live stats: current concurrency, usage in every configured
 * window, waiting callers, active cooldown, provider 429s and retries; and the reset of a target's
 * window state. All targets come from the shared reading ({@link Snapshots}, at most about a
 * second old); one target is read from Redis on every request. Thread-safe.
 */
final class StatsRoutes {

    /** Stats of every target. */
    static final String ALL = "/api/v1/stats";
    /** Stats of one target. */
    static final String ONE = TargetRoutes.ONE + "/stats";
    /** One target's tenants: admitted requests and tokens, share against weight, waiting callers. */
    static final String TENANTS = TargetRoutes.ONE + "/tenants";
    /** Reset of one target's window state. */
    static final String RESET = TargetRoutes.ONE + "/reset";

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
        // Spend over every target, summed in whole micro-dollars. Per tenant once targets have tenants.
        long today = 0;
        long month = 0;
        for (TargetSnapshot s : reading.targets()) {
            today += s.counter(Counters.COST_TODAY);
            month += s.counter(Counters.COST_MONTH);
        }
        out.putObject("cost").put("today_usd", TargetSnapshot.usd(today)).put("month_usd", TargetSnapshot.usd(month));
        Bodies.send(ctx, 200, out);
    }

    private void one(Context ctx) {
        Target t = TargetRoutes.target(ctx);
        TargetSnapshot s = TargetSnapshot.read(store.admin(), t).orElseThrow(() -> ConfigStore.notFound(t));
        Bodies.send(ctx, 200, s.toJson());
    }

    private void tenants(Context ctx) {
        Target t = TargetRoutes.target(ctx);
        io.llmlimiter.client.LimitConfig c = store.admin().config(t).orElseThrow(() -> ConfigStore.notFound(t));
        ObjectNode out = ConfigJson.MAPPER.createObjectNode();
        out.put("target", t.toString());
        out.put("fair_share", c.fairShare() != null);
        ArrayNode list = out.putArray("tenants");
        for (io.llmlimiter.client.TenantUsage u : store.admin().tenants(t)) {
            list.addObject().put("tenant", u.tenant()).put("weight", u.weight()).put("weight_share", u.weightShare())
                    .put("requests", u.requests()).put("tokens", u.tokens()).put("token_share", u.tokenShare())
                    .put("waiting", u.waiting());
        }
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
