package io.llmlimiter.client;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people type them in limits: {@code 500ms}, {@code 1s}, {@code 60s}, {@code 5m},
 * {@code 1h}, {@code 1d}, or combined ({@code 1m30s}). This class is thread-safe.
 */
public final class Durations {

    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    private Durations() {
    }

    /**
     * @param field the field name used in the error message
     * @param text the duration text
     * @return the duration
     * @throws IllegalArgumentException naming the field when the text is not a duration
     */
    public static Duration parse(String field, String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException(field + " must be a duration like 500ms, 60s, 1m, 1h or 1d, got '"
                    + text + "'");
        }
        Matcher m = PART.matcher(text.trim());
        Duration total = Duration.ZERO;
        int end = 0;
        while (m.find() && m.start() == end) {
            long n;
            try {
                n = Long.parseLong(m.group(1));
            } catch (NumberFormatException e) {
                break;
            }
            if (n > 1_000_000_000L) {
                break;
            }
            total = total.plus(switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            });
            end = m.end();
        }
        if (end == 0 || end != text.trim().length()) {
            throw new IllegalArgumentException(field + " must be a duration like 500ms, 60s, 1m, 1h or 1d, got '"
                    + text + "'");
        }
        return total;
    }

    /**
     * @param d a duration
     * @return the shortest text form, e.g. {@code 60s}, {@code 1d}, {@code 1500ms}
     */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 86_400_000L == 0 && ms > 0) {
            return ms / 86_400_000L + "d";
        }
        if (ms % 3_600_000L == 0 && ms > 0) {
            return ms / 3_600_000L + "h";
        }
        if (ms % 1000 == 0 && ms > 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
