package io.llmlimiter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.llmlimiter.client.PriceTable;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.client.internal.PriceSync;
import io.llmlimiter.server.ProblemException.Kind;
import java.util.Map;

/**
 * The fleet's price table: {@code GET /api/v1/prices} says which table is in force,
 * {@code PUT /api/v1/prices} replaces it whole (a table that does not parse is refused naming the
 * field, and the old one stays). Clients follow it within about 30 seconds. Thread-safe.
 */
final class PriceRoutes {

    /** The route. */
    static final String PATH = "/api/v1/prices";

    private final RedisConfigs redis;

    /** @param redis where the table is kept */
    PriceRoutes(RedisConfigs redis) {
        this.redis = redis;
    }

    /** @param r where the routes are added */
    void register(RoutesConfig r) {
        r.get(PATH, this::get);
        r.put(PATH, this::put);
    }

    /**
     * Checks a table and stores it whole.
     *
     * @param redis where it goes
     * @param json the table's text
     * @return the stored table's digest and size
     * @throws ProblemException naming the field when the table does not parse
     */
    static ObjectNode load(RedisConfigs redis, String json) {
        PriceTable table;
        try {
            table = PriceTable.parse(json);
        } catch (IllegalArgumentException e) {
            String m = String.valueOf(e.getMessage());
            int space = m.indexOf(' ');
            String field = space > 0 && !m.substring(0, space).endsWith(":") ? m.substring(0, space) : "body";
            throw ProblemException.field(Kind.INVALID_PRICES, field, m);
        }
        String sha = redis.putPrices(json);
        ObjectNode out = ConfigJson.MAPPER.createObjectNode();
        out.put("source", "redis").put("sha", sha).put("models", table.size());
        return out;
    }

    private void put(Context ctx) {
        JsonNode body = Bodies.json(ctx, Bodies.IMPORT_MAX_BYTES, Bodies.JSON);
        Bodies.send(ctx, 200, load(redis, body.toString()));
    }

    private void get(Context ctx) {
        // One read: a table put meanwhile never pairs its digest with the other table's models.
        Map<String, String> stored = redis.prices();
        ObjectNode out = ConfigJson.MAPPER.createObjectNode();
        if (stored.containsKey("sha")) {
            out.put("source", "redis").put("sha", stored.get("sha"))
                    .put("updated_ms", Long.parseLong(stored.getOrDefault("updated_ms", "0")));
            String json = stored.get("json");
            if (json != null && PriceSync.sha1(json).equals(stored.get("sha"))) {
                try {
                    out.put("models", PriceTable.parse(json).size());
                } catch (IllegalArgumentException e) {
                    out.put("models", 0);
                }
            }
        } else {
            out.put("source", "bundled").put("models", PriceTable.bundled().size());
        }
        Bodies.send(ctx, 200, out);
    }
}
