package io.llmlimiter.server;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The dashboard: plain HTML, JavaScript and CSS served from the jar (no build step), and the chart
 * library uPlot (MIT, from its webjar, with its licence at {@code /vendor/uPlot.LICENSE}). The page asks
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
    private final String uplot = "/META-INF/resources/webjars/uplot/" + uplotVersion() + "/";
    private final byte[] chartJs = SystemRoutes.resource(uplot + "dist/uPlot.iife.min.js");
    private final byte[] chartCss = SystemRoutes.resource(uplot + "dist/uPlot.min.css");
    private final byte[] chartLicence = SystemRoutes.resource(uplot + "LICENSE");

    /** @param r where the routes are added */
    void register(RoutesConfig r) {
        r.get("/", ctx -> send(ctx, "text/html; charset=utf-8", html));
        r.get("/dashboard.js", ctx -> send(ctx, "text/javascript; charset=utf-8", js));
        r.get("/dashboard.css", ctx -> send(ctx, "text/css; charset=utf-8", css));
        r.get("/vendor/uPlot.iife.min.js", ctx -> send(ctx, "text/javascript; charset=utf-8", chartJs));
        r.get("/vendor/uPlot.min.css", ctx -> send(ctx, "text/css; charset=utf-8", chartCss));
        r.get("/vendor/uPlot.LICENSE", ctx -> send(ctx, "text/plain; charset=utf-8", chartLicence));
    }

    /** @return the version of the uPlot webjar on the class path (its Maven properties name it) */
    static String uplotVersion() {
        Properties p = new Properties();
        try (InputStream in = Dashboard.class.getResourceAsStream("/META-INF/maven/org.webjars.npm/uplot/pom.properties")) {
            if (in == null) {
                throw new IllegalStateException("the uPlot webjar is missing from the server jar");
            }
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("version");
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
