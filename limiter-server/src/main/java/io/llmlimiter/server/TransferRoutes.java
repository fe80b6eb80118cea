package io.llmlimiter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.server.ProblemException.Kind;
import java.io.IOException;
import java.util.Map;

/**
 * Import and export of all configs (the config file's shape, so an export imports back as is and
 * the seed's {@code llm_configs.json} imports unchanged), and the audit log's latest entries.
 * Thread-safe (stateless apart from the store).
 */
final class TransferRoutes {

    /** Export of every config. */
    static final String EXPORT = "/api/v1/export";
    /** Import, all or nothing. */
    static final String IMPORT = "/api/v1/import";
    /** Latest audit entries. */
    static final String AUDIT = "/api/v1/audit";

    private final ConfigStore store;
    private final ConfigTransfer transfer;

    /** @param store the store */
    TransferRoutes(ConfigStore store) {
        this.store = store;
        this.transfer = new ConfigTransfer(store);
    }

    /** @param r where the routes are added */
    void register(RoutesConfig r) {
        r.get(EXPORT, ctx -> Bodies.send(ctx, 200, transfer.export().toJson()));
        r.post(IMPORT, this::importAll);
        r.get(AUDIT, this::audit);
    }

    private void importAll(Context ctx) {
        String mode = ctx.queryParam("mode");
        if (mode != null && !mode.equals("merge") && !mode.equals("replace")) {
            throw ProblemException.field(Kind.INVALID_PARAMETER, "mode", "mode must be merge or replace, got '"
                    + abbreviate(mode) + "'");
        }
        JsonNode body = Bodies.json(ctx, Bodies.IMPORT_MAX_BYTES, Bodies.JSON);
        ConfigSet set = ConfigSet.parse(body);
        Map<String, Integer> counts = transfer.importAll(set, "replace".equals(mode), TargetRoutes.source(ctx));
        ObjectNode out = ConfigJson.MAPPER.createObjectNode();
        out.put("mode", mode == null ? "merge" : mode);
        counts.forEach(out::put);
        out.put("default_config", set.defaultConfig() != null);
        Bodies.send(ctx, 200, out);
    }

    private void audit(Context ctx) throws IOException {
        String raw = ctx.queryParam("limit");
        int limit = 100;
        if (raw != null) {
            try {
                limit = Integer.parseInt(raw);
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > 1000) {
                throw ProblemException.field(Kind.INVALID_PARAMETER, "limit", "limit must be a whole number from 1 to "
                        + "1000, got '" + abbreviate(raw) + "'");
            }
        }
        ObjectNode out = ConfigJson.MAPPER.createObjectNode();
        ArrayNode entries = out.putArray("entries");
        store.audit().recent(limit).forEach(entries::add);
        Bodies.send(ctx, 200, out);
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
