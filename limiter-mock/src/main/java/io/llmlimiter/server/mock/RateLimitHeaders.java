package io.llmlimiter.server.mock;

import io.javalin.http.Context;

import java.time.Instant;

/**
 * Writes rate-limit headers the way the providers do.
 *
 * <ul>
 *   <li>OpenAI: {@code x-ratelimit-limit-requests}, {@code x-ratelimit-remaining-requests},
 *       {@code x-ratelimit-reset-requests} and the same for {@code -tokens}; reset is a Go-style
 *       duration such as {@code 20ms}, {@code 1s}, {@code 1.5s} or {@code 6m0s}.</li>
 *   <li>Anthropic: {@code anthropic-ratelimit-requests-limit/remaining/reset} and the same for
 *       {@code tokens}; reset is an RFC 3339 timestamp.</li>
 * </ul>
 * Reset is when the window is fully replenished, as both providers document it. Headers of an
 * absent limit are left out. This class is stateless and thread-safe.
 */
final class RateLimitHeaders {

    private RateLimitHeaders() {
    }

    /**
     * @param ctx the response to write to
     * @param configured the configured style
     * @param nativeStyle the endpoint's own style, used when {@code configured} is {@link HeaderStyle#NATIVE}
     * @param d the decision whose windows to report
     */
    static void write(Context ctx, HeaderStyle configured, HeaderStyle nativeStyle, Decision d) {
        HeaderStyle style = configured == HeaderStyle.NATIVE ? nativeStyle : configured;
        if (style == HeaderStyle.OPENAI) {
            openAi(ctx, "requests", d.requests());
            openAi(ctx, "tokens", d.tokens());
        } else if (style == HeaderStyle.ANTHROPIC) {
            anthropic(ctx, "requests", d.requests());
            anthropic(ctx, "tokens", d.tokens());
        }
    }

    /**
     * Writes {@code Retry-After} in whole seconds rounded up, and {@code retry-after-ms}, which the
     * OpenAI SDKs also read and which matters for windows shorter than a second.
     *
     * @param ctx the response to write to
     * @param nanos the wait, at least 1 ns
     */
    static void retryAfter(Context ctx, long nanos) {
        long millis = Math.max(1, WindowState.ceilMillis(nanos));
        ctx.header("Retry-After", Long.toString((millis + 999) / 1000));
        ctx.header("retry-after-ms", Long.toString(millis));
    }

    /**
     * Formats a duration as Go's {@code time.Duration.String()} does, to millisecond precision.
     *
     * @param millis a duration in milliseconds
     * @return e.g. {@code 0s}, {@code 20ms}, {@code 1s}, {@code 1.5s}, {@code 6m0s}, {@code 1h0m0s}
     */
    static String goDuration(long millis) {
        if (millis <= 0) {
            return "0s";
        }
        if (millis < 1000) {
            return millis + "ms";
        }
        long hours = millis / 3_600_000;
        long minutes = millis / 60_000 % 60;
        long seconds = millis / 1000 % 60;
        long fraction = millis % 1000;
        StringBuilder b = new StringBuilder();
        if (hours > 0) {
            b.append(hours).append('h');
        }
        if (hours > 0 || minutes > 0) {
            b.append(minutes).append('m');
        }
        b.append(seconds);
        if (fraction > 0) {
            String f = String.format("%03d", fraction);
            b.append('.').append(f.replaceAll("0+$", ""));
        }
        return b.append('s').toString();
    }

    private static void openAi(Context ctx, String kind, WindowState w) {
        if (w == null) {
            return;
        }
        ctx.header("x-ratelimit-limit-" + kind, Long.toString(w.limit()));
        ctx.header("x-ratelimit-remaining-" + kind, Long.toString(w.remaining()));
        ctx.header("x-ratelimit-reset-" + kind, goDuration(w.resetMillis()));
    }

    private static void anthropic(Context ctx, String kind, WindowState w) {
        if (w == null) {
            return;
        }
        String prefix = "anthropic-ratelimit-" + kind + "-";
        ctx.header(prefix + "limit", Long.toString(w.limit()));
        ctx.header(prefix + "remaining", Long.toString(w.remaining()));
        ctx.header(prefix + "reset", Instant.ofEpochMilli(System.currentTimeMillis() + w.resetMillis()).toString());
    }
}
