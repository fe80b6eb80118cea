package io.llmlimiter.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.server.ProblemException.Kind;
import java.time.Duration;
import java.util.List;

/**
 * {@code GET /api/v1/targets/{provider}/{model}/history}: a target's last 15 minutes as the
 * {@link HistorySampler} recorded them (times in epoch seconds, one array per series, {@code null}
 * where a value is unknown), and its refusals by reason over the last 1, 5 and 15 minutes.
 * Thread-safe.
 */
final class HistoryRoutes {

    /** One target's history. */
    static final String ONE = TargetRoutes.ONE + "/history";
    /** The spans refusals are summed over. */
    static final List<Duration> REFUSAL_SPANS = List.of(Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(15));

    private final HistorySampler sampler;

    /** @param sampler the sampler */
    HistoryRoutes(HistorySampler sampler) {
        this.sampler = sampler;
    }

    /** @param r where the routes are added */
    void register(RoutesConfig r) {
        r.get(ONE, this::one);
    }

    private void one(Context ctx) {
        Target t = TargetRoutes.target(ctx);
        HistoryRing.View v = sampler.history(t).orElseThrow(() -> new ProblemException(Kind.NOT_FOUND,
                "No history for " + t + ": it has no config, was created less than one sample ago ("
                        + HistorySampler.RESOLUTION.toSeconds() + " s), or more than " + HistorySampler.MAX_TARGETS
                        + " other targets have one"));
        Bodies.send(ctx, 200, toJson(t, v));
    }

    static ObjectNode toJson(Target t, HistoryRing.View v) {
        ObjectNode o = ConfigJson.MAPPER.createObjectNode();
        o.put("target", t.toString());
        o.put("resolution_s", HistorySampler.RESOLUTION.toSeconds());
        o.put("span_s", HistorySampler.SPAN.toSeconds());
        ArrayNode times = o.putArray("t");
        for (long ms : v.times()) {
            times.add(ms / 1000.0);
        }
        ObjectNode series = o.putObject("series");
        for (HistoryRing.Series s : HistoryRing.Series.values()) {
            ArrayNode a = series.putArray(s.json);
            for (float x : v.of(s)) {
                if (Float.isNaN(x)) {
                    a.addNull();
                } else {
                    a.add(Math.round(x * 1000) / 1000.0);
                }
            }
        }
        ObjectNode refusals = o.putObject("refusals");
        long last = v.times().length == 0 ? 0 : v.times()[v.times().length - 1];
        for (String reason : HistoryRing.REFUSALS) {
            ObjectNode r = refusals.putObject(reason);
            for (Duration span : REFUSAL_SPANS) {
                r.put("last_" + span.toMinutes() + "m", v.refusedSince(reason, last - span.toMillis()));
            }
        }
        return o;
    }
}
