package io.llmlimiter.client.retry;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Lenient parsers for rate-limit header values. Every method returns empty for malformed input
 * instead of throwing, because a provider's bad header must never fail the call.
 *
 * <p>Stateless and thread-safe ({@link DateTimeFormatter}s are immutable).
 */
final class HeaderValues {

    private static final Pattern DECIMAL = Pattern.compile("\\d+(?:\\.\\d+)?|\\.\\d+");

    /** One Go {@code time.Duration} segment, e.g. {@code 6m}, {@code 3.5s}, {@code 20ms}. */
    private static final Pattern GO_SEGMENT = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|μs|ms|h|m|s)");

    private static final Map<String, BigDecimal> NANOS_PER_UNIT = Map.of(
            "ns", BigDecimal.ONE,
            "us", BigDecimal.valueOf(1_000L),
            "µs", BigDecimal.valueOf(1_000L),
            "μs", BigDecimal.valueOf(1_000L),
            "ms", BigDecimal.valueOf(1_000_000L),
            "s", BigDecimal.valueOf(1_000_000_000L),
            "m", BigDecimal.valueOf(60_000_000_000L),
            "h", BigDecimal.valueOf(3_600_000_000_000L));

    private static final BigDecimal NANOS_PER_SECOND = BigDecimal.valueOf(1_000_000_000L);

    /** Obsolete asctime() form, after collapsing runs of spaces: {@code Sun Nov 6 08:49:37 1994}. */
    private static final DateTimeFormatter ASCTIME =
            DateTimeFormatter.ofPattern("EEE MMM d HH:mm:ss yyyy", Locale.US);

    private HeaderValues() {
    }

    /** Non-negative decimal seconds, e.g. {@code 20} or {@code 1.5}. */
    static Optional<Duration> seconds(String value) {
        return decimal(value).flatMap(s -> nanos(s.multiply(NANOS_PER_SECOND)));
    }

    /** Non-negative decimal milliseconds, e.g. {@code 250} or {@code 12.5}. */
    static Optional<Duration> millis(String value) {
        return decimal(value).flatMap(ms -> nanos(ms.multiply(BigDecimal.valueOf(1_000_000L))));
    }

    /** A non-negative integer count. */
    static OptionalLong count(String value) {
        if (value == null || !value.trim().matches("\\d{1,18}")) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Long.parseLong(value.trim()));
    }

    /** A Go duration string as sent by OpenAI: {@code 6m0s}, {@code 1h2m3.5s}, {@code 20ms}, {@code 0}. */
    static Optional<Duration> goDuration(String value) {
        if (value == null) {
            return Optional.empty();
        }
        String text = value.trim();
        if (text.equals("0")) {
            return Optional.of(Duration.ZERO);
        }
        Matcher m = GO_SEGMENT.matcher(text);
        BigDecimal total = BigDecimal.ZERO;
        int position = 0;
        while (m.find()) {
            if (m.start() != position) {
                return Optional.empty();
            }
            total = total.add(new BigDecimal(leadingZero(m.group(1))).multiply(NANOS_PER_UNIT.get(m.group(2))));
            position = m.end();
        }
        return position == 0 || position != text.length() ? Optional.empty() : nanos(total);
    }

    /** Time from {@code now} until an RFC 3339 timestamp (zero if already past). */
    static Optional<Duration> untilRfc3339(String value, Instant now) {
        if (value == null) {
            return Optional.empty();
        }
        try {
            // RFC 3339 allows lowercase 't'/'z' and a space separator; java.time wants 'T' and 'Z'.
            String normalized = value.trim().toUpperCase(Locale.ROOT).replace(' ', 'T');
            return Optional.of(until(OffsetDateTime.parse(normalized).toInstant(), now));
        } catch (DateTimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Time from {@code now} until an HTTP-date (RFC 9110 section 5.6.7): the preferred IMF-fixdate
     * and the obsolete RFC 850 and asctime forms recipients must accept. Zero if already past.
     */
    static Optional<Duration> untilHttpDate(String value, Instant now) {
        if (value == null) {
            return Optional.empty();
        }
        String text = value.trim().replaceAll("\\s+", " ");
        try {
            return Optional.of(until(ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant(), now));
        } catch (DateTimeException e) {
            // Try the obsolete forms below.
        }
        try {
            return Optional.of(until(LocalDateTime.parse(text, rfc850(now)).toInstant(ZoneOffset.UTC), now));
        } catch (DateTimeException e) {
            // Try asctime below.
        }
        try {
            return Optional.of(until(LocalDateTime.parse(text, ASCTIME).toInstant(ZoneOffset.UTC), now));
        } catch (DateTimeException e) {
            return Optional.empty();
        }
    }

    /**
     * RFC 850 form, {@code Sunday, 06-Nov-94 08:49:37 GMT}. RFC 9110 says a two-digit year more than
     * 50 years in the future means the most recent past year with those digits, hence the base year.
     */
    private static DateTimeFormatter rfc850(Instant now) {
        int baseYear = now.atOffset(ZoneOffset.UTC).getYear() - 49;
        return new DateTimeFormatterBuilder()
                .parseCaseInsensitive()
                .appendPattern("EEEE, dd-MMM-")
                .appendValueReduced(ChronoField.YEAR, 2, 2, baseYear)
                .appendPattern(" HH:mm:ss 'GMT'")
                .toFormatter(Locale.US);
    }

    private static Duration until(Instant target, Instant now) {
        Duration d = Duration.between(now, target);
        return d.isNegative() ? Duration.ZERO : d;
    }

    private static Optional<BigDecimal> decimal(String value) {
        if (value == null || !DECIMAL.matcher(value.trim()).matches()) {
            return Optional.empty();
        }
        return Optional.of(new BigDecimal(leadingZero(value.trim())));
    }

    private static String leadingZero(String number) {
        return number.startsWith(".") ? "0" + number : number;
    }

    /** Nanoseconds as a Duration; empty if it does not fit. */
    private static Optional<Duration> nanos(BigDecimal nanos) {
        BigInteger[] parts = nanos.setScale(0, RoundingMode.HALF_UP).toBigInteger()
                .divideAndRemainder(NANOS_PER_SECOND.toBigInteger());
        if (parts[0].bitLength() > 62) {
            return Optional.empty();
        }
        return Optional.of(Duration.ofSeconds(parts[0].longValue(), parts[1].longValue()));
    }
}
