package io.llmlimiter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.server.ProblemException.Kind;

/**
 * Target configs: list, get, create, replace, patch and delete under {@value #BASE}, and the
 * default config for unknown targets under {@value #DEFAULT}. Every write validates the whole body
 * first and goes through the {@link ConfigStore}. Thread-safe (stateless apart from the store).
 */
final class TargetRoutes {

    /** The collection of target configs. */
    static final String BASE = "/api/v1/targets";
    /** One target's config; a model with {@code /} is one segment here (see {@link TargetPaths}). */
    static final String ONE = BASE + "/{provider}/{model}";
    /** The default config for unknown targets. */
    static final String DEFAULT = "/api/v1/default";

    private final ConfigStore store;

    /** @param store the store every change goes through */
    TargetRoutes(ConfigStore store) {
        this.store = store;
    }

    /** @param r where the routes are added */
    void register(RoutesConfig r) {
        r.get(BASE, this::list);
        r.post(BASE, this::create);
        r.get(ONE, this::get);
        r.put(ONE, this::put);
        r.patch(ONE, this::patch);
        r.delete(ONE, this::delete);
        r.get(DEFAULT, this::getDefault);
        r.put(DEFAULT, this::putDefault);
    }

    private void list(Context ctx) {
        ObjectNode out = ConfigJson.MAPPER.createObjectNode();
        ArrayNode targets = out.putArray("targets");
        store.documents(store.admin().targets()).forEach(c -> targets.add(c.tree()));
        Bodies.send(ctx, 200, out);
    }

    private void get(Context ctx) {
        Target t = target(ctx);
        ConfigDocument c = store.document(t).orElseThrow(() -> ConfigStore.notFound(t));
        Bodies.send(ctx, 200, c.tree());
    }

    private void create(Context ctx) {
        JsonNode body = Bodies.json(ctx, Bodies.CONFIG_MAX_BYTES, Bodies.JSON);
        ConfigDocument c = ConfigDocument.parse(body, null);
        store.create(c, source(ctx));
        ctx.header("Location", TargetPaths.of(c.target()));
        Bodies.send(ctx, 201, c.tree());
    }

    private void put(Context ctx) {
        Target t = target(ctx);
        ConfigDocument c = ConfigDocument.parse(Bodies.json(ctx, Bodies.CONFIG_MAX_BYTES, Bodies.JSON), t);
        boolean created = store.put(c, source(ctx));
        Bodies.send(ctx, created ? 201 : 200, c.tree());
    }

    private void patch(Context ctx) {
        Target t = target(ctx);
        JsonNode body = Bodies.json(ctx, Bodies.CONFIG_MAX_BYTES, Bodies.MERGE_PATCH, Bodies.JSON);
        Bodies.send(ctx, 200, store.patch(t, body, source(ctx)).tree());
    }

    private void delete(Context ctx) {
        store.delete(target(ctx), source(ctx));
        ctx.status(204);
    }

    private void getDefault(Context ctx) {
        Bodies.send(ctx, 200, store.defaultDocument().tree());
    }

    private void putDefault(Context ctx) {
        JsonNode body = Bodies.json(ctx, Bodies.CONFIG_MAX_BYTES, Bodies.JSON);
        ConfigDocument c = ConfigDocument.parse(body, ConfigSet.DEFAULT_TARGET);
        store.putDefault(c, source(ctx));
        Bodies.send(ctx, 200, store.defaultDocument().tree());
    }

    /**
     * @param ctx a request whose path holds {@code {provider}} and {@code {model}}
     * @return the target, validated (no path tricks: only letters, digits and {@code . _ - :}, and
     *     {@code /} between the model's segments)
     * @throws ProblemException 400 naming the bad part
     */
    static Target target(Context ctx) {
        String provider = ctx.pathParam("provider");
        String model = ctx.pathParam("model");
        try {
            new Target(provider, "m");
        } catch (IllegalArgumentException e) {
            throw ProblemException.field(Kind.INVALID_TARGET, "provider", "path: " + e.getMessage());
        }
        try {
            return new Target(provider, model);
        } catch (IllegalArgumentException e) {
            throw ProblemException.field(Kind.INVALID_TARGET, "model", "path: " + e.getMessage());
        }
    }

    /**
     * @param ctx a request
     * @return who made it, for the audit log (never the token)
     */
    static String source(Context ctx) {
        return "api " + ctx.ip();
    }
}
