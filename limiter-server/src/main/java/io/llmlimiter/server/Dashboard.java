package io.llmlimiter.server;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

/**
 * The dashboard: plain HTML, JavaScript and CSS served from the jar (no build step). The page asks
 * for the admin token, keeps it in the tab's {@code sessionStorage} only, and calls the same
 * {@code /api/v1} routes as anyone else. Served with a strict Content-Security-Policy: no inline
 * script, nothing from other origins. Thread-safe (immutable).
 */
final class Dashboard {

    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private final byte[] html = SystemRoutes.resource("dashboard/index.html");
    private final byte[] js = SystemRoutes.resource("dashboard/dashboard.js");
    private final byte[] css = SystemRoutes.resource("dashboard/dashboard.css");

    /** @param r where the routes are added */
    void register(RoutesConfig r) {
        r.get("/", ctx -> send(ctx, "text/html; charset=utf-8", html));
        r.get("/dashboard.js", ctx -> send(ctx, "text/javascript; charset=utf-8", js));
        r.get("/dashboard.css", ctx -> send(ctx, "text/css; charset=utf-8", css));
    }

    private static void send(Context ctx, String type, byte[] body) {
        ctx.header("Content-Security-Policy", CSP)
                .header("X-Content-Type-Options", "nosniff")
                .header("Referrer-Policy", "no-referrer")
                .header("Cache-Control", "no-cache")
                .contentType(type)
                .result(body);
    }
}
