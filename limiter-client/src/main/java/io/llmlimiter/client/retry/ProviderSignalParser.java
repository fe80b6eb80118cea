package io.llmlimiter.client.retry;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;

/**
 * Parses provider rate-limit headers into {@link ProviderSignals}.
 *
 * <p>Understood headers (names case-insensitive; the first value of each is used):
 *
 * <ul>
 *   <li>{@code retry-after-ms} (milliseconds, preferred because it is more precise) and {@code
 *       Retry-After} (delta-seconds, fractional accepted, or an HTTP-date per RFC 9110);
 *   <li>OpenAI {@code x-ratelimit-{limit,remaining,reset}-{requests,tokens}}, resets being Go
 *       durations such as {@code 6m0s}, {@code 1s}, {@code 20ms}, {@code 1h2m3.5s};
 *   <li>Anthropic {@code anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,
 *       remaining,reset}}, resets being RFC 3339 timestamps such as {@code 2026-11-26T05:00:30Z}.
 * </ul>
 *
 * <p>Malformed values are ignored, never thrown. Stateless and thread-safe; all methods are static.
 */
public final class ProviderSignalParser {

    private ProviderSignalParser() {
    }

    /**
     * Parses a header multimap.
     *
     * @param headers response headers (may be {@code null}); names are matched ignoring case
     * @param now the current time, for HTTP-date and RFC 3339 values
     * @return the signals, possibly empty
     */
    public static ProviderSignals parse(Map<String, ? extends Collection<String>> headers, Instant now) {
        Objects.requireNonNull(now, "now");
        Map<String, List<String>> h = HeaderMaps.copyOf(headers);
        Optional<Duration> retryAfter = HeaderMaps.first(h, "retry-after-ms").flatMap(HeaderValues::millis);
        if (retryAfter.isEmpty()) {
            retryAfter = HeaderMaps.first(h, "retry-after").flatMap(v -> parseRetryAfter(v, now));
        }
        List<ProviderSignals.Budget> budgets = new ArrayList<>();
        openAi(h, "requests", SignalResource.REQUESTS).ifPresent(budgets::add);
        openAi(h, "tokens", SignalResource.TOKENS).ifPresent(budgets::add);
        Function<String, Optional<Duration>> rfc3339 = v -> HeaderValues.untilRfc3339(v, now);
        for (SignalResource resource : SignalResource.values()) {
            String prefix = "anthropic-ratelimit-" + resource.name().toLowerCase(Locale.ROOT).replace('_', '-') + "-";
            budget(h, resource, prefix + "limit", prefix + "remaining", prefix + "reset", rfc3339)
                    .ifPresent(budgets::add);
        }
        return ProviderSignals.of(retryAfter, budgets);
    }

    /**
     * Parses {@code java.net.http} response headers.
     *
     * @param headers the headers
     * @param now the current time
     * @return the signals, possibly empty
     */
    public static ProviderSignals parse(HttpHeaders headers, Instant now) {
        return parse(Objects.requireNonNull(headers, "headers").map(), now);
    }

    /**
     * Parses the headers of a failure.
     *
     * @param failure the failure
     * @param now the current time
     * @return the signals, possibly empty
     */
    public static ProviderSignals parse(ProviderFailure failure, Instant now) {
        return parse(Objects.requireNonNull(failure, "failure").headers(), now);
    }

    /**
     * Parses a {@code Retry-After} value: non-negative delta-seconds (fractions accepted) or an
     * HTTP-date (IMF-fixdate, RFC 850 or asctime); a date in the past means zero.
     *
     * @param value the header value
     * @param now the current time
     * @return the wait, or empty if malformed
     */
    public static Optional<Duration> parseRetryAfter(String value, Instant now) {
        Optional<Duration> seconds = HeaderValues.seconds(value);
        return seconds.isPresent() ? seconds : HeaderValues.untilHttpDate(value, now);
    }

    /**
     * Parses an OpenAI reset value, a Go duration string such as {@code 6m0s} or {@code 0.5s}.
     *
     * @param value the header value
     * @return the duration, or empty if malformed
     */
    public static Optional<Duration> parseResetDuration(String value) {
        return HeaderValues.goDuration(value);
    }

    /**
     * Parses an Anthropic reset value, an RFC 3339 timestamp, as time from {@code now}; a past
     * timestamp means zero.
     *
     * @param value the header value
     * @param now the current time
     * @return the time until reset, or empty if malformed
     */
    public static Optional<Duration> parseResetTimestamp(String value, Instant now) {
        return HeaderValues.untilRfc3339(value, now);
    }

    private static Optional<ProviderSignals.Budget> openAi(Map<String, List<String>> h, String suffix,
                                                            SignalResource resource) {
        return budget(h, resource, "x-ratelimit-limit-" + suffix, "x-ratelimit-remaining-" + suffix,
                "x-ratelimit-reset-" + suffix, HeaderValues::goDuration);
    }

    private static Optional<ProviderSignals.Budget> budget(Map<String, List<String>> h, SignalResource resource,
                                                            String limitName, String remainingName,
                                                            String resetName,
                                                            Function<String, Optional<Duration>> resetParser) {
        OptionalLong limit = count(h, limitName);
        OptionalLong remaining = count(h, remainingName);
        Optional<Duration> reset = HeaderMaps.first(h, resetName).flatMap(resetParser);
        if (limit.isEmpty() && remaining.isEmpty() && reset.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ProviderSignals.Budget(resource, limit, remaining, reset));
    }

    private static OptionalLong count(Map<String, List<String>> h, String name) {
        Optional<String> value = HeaderMaps.first(h, name);
        return value.isPresent() ? HeaderValues.count(value.get()) : OptionalLong.empty();
    }
}
