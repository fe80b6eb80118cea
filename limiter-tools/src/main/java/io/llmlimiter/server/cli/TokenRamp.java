package io.llmlimiter.server.cli;

import io.llmlimiter.client.Durations;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Finds a token limit from 429s alone. A call is charged prompt plus {@code max_tokens}; a 429
 * "too large" means the charge exceeds the limit itself, while an admission or a 429 that names a
 * wait means the charge fits the limit. So the limit is bracketed by charges growing fourfold, then
 * bisected to 2%. An HTTP 400 naming {@code max_tokens} (the model's output cap) is not a token
 * limit: it bounds the bisection from above like a "too large" 429, and when no 429 comes below
 * it, the report says so rather than mistaking the cap for the window's limit. The window: a call of 60% of the limit is admitted, a second one at once is
 * refused until the first leaves the window, which its {@code Retry-After} tells (or polling).
 * Calls are paced under the request limit when it is known. Not thread-safe: one ramp runs once.
 */
final class TokenRamp {

    private static final long FIRST_MAX_TOKENS = 64;
    private static final long MAX_MAX_TOKENS = 100_000_000;
    private static final double PRECISION = 1.02;

    private final ProbeClient client;
    private final Finding requests;
    private final List<String> notes;

    /**
     * @param client sends the calls
     * @param requests the request limit if known, to pace the calls under it
     * @param notes where to say what could not be measured
     */
    TokenRamp(ProbeClient client, Finding requests, List<String> notes) {
        this.client = client;
        this.requests = requests == null || requests.lowerBound() ? null : requests;
        this.notes = notes;
    }

    /**
     * @return the token limit, or empty when the endpoint answers the ramp with an error that says
     *     nothing about sizes
     * @throws InterruptedException when interrupted
     */
    Optional<Finding> run() throws InterruptedException {
        long fits = 0;
        long tooLarge = Long.MAX_VALUE;
        long perCallCap = Long.MAX_VALUE;
        for (long m = FIRST_MAX_TOKENS; tooLarge == Long.MAX_VALUE && perCallCap == Long.MAX_VALUE; m *= 4) {
            if (m > MAX_MAX_TOKENS) {
                notes.add("tokens: no token limit below " + fits + " tokens per call");
                return Optional.empty();
            }
            ProbeCall c = settle(m);
            if (c.kind() == ProbeCall.Kind.ERROR) {
                notes.add("tokens: the endpoint refused max_tokens=" + m + " (" + c.message()
                        + "); no token limit found");
                return Optional.empty();
            }
            if (c.kind() == ProbeCall.Kind.TOO_LARGE) {
                if (c.rateLimited()) {
                    tooLarge = c.charge();
                } else {
                    perCallCap = c.charge();
                }
            } else {
                fits = c.charge();
            }
        }
        // Bisect between what fits and the first refusal as too large: a 429 bounds the window's
        // limit, a 400 naming max_tokens bounds one call (the model's output cap).
        while ((double) Math.min(tooLarge, perCallCap) / Math.max(1, fits) > PRECISION) {
            long upper = Math.min(tooLarge, perCallCap);
            long maxTokens = Math.max(1, (fits + upper) / 2 - ProbeClient.PROMPT_TOKENS);
            long charge = maxTokens + ProbeClient.PROMPT_TOKENS;
            if (charge <= fits || charge >= upper) {
                break;
            }
            ProbeCall c = settle(maxTokens);
            if (c.kind() == ProbeCall.Kind.TOO_LARGE) {
                if (c.rateLimited()) {
                    tooLarge = c.charge();
                } else {
                    perCallCap = c.charge();
                }
            } else if (c.kind() == ProbeCall.Kind.ERROR) {
                break;
            } else {
                fits = c.charge();
            }
        }
        if (tooLarge < perCallCap) {
            long limit = (fits + tooLarge) / 2;
            return Optional.of(new Finding(limit, window(limit), "429s", false));
        }
        notes.add("tokens: one call may ask for at most about " + fits + " tokens (the endpoint refuses larger "
                + "max_tokens as invalid, the model's output cap) and no call up to that size met a token limit; "
                + "a token limit per window, if any, is above it and is not suggested");
        return Optional.empty();
    }

    /** One call of {@code maxTokens}, repeated after request or concurrency 429s, which say nothing of tokens. */
    private ProbeCall settle(long maxTokens) throws InterruptedException {
        while (true) {
            pace();
            ProbeCall c = client.call(maxTokens);
            if (c.kind() != ProbeCall.Kind.REQUESTS && c.kind() != ProbeCall.Kind.CONCURRENCY
                    && c.kind() != ProbeCall.Kind.RATE_LIMITED) {
                return c;
            }
            LimitProbe.sleep(c.retryAfter().orElse(Duration.ofMillis(200)));
        }
    }

    /** The window: admit 60% of the limit, then ask for 60% again and see when it would fit. */
    private Duration window(long limit) throws InterruptedException {
        long maxTokens = Math.max(1, limit * 6 / 10 - ProbeClient.PROMPT_TOKENS);
        ProbeCall first = null;
        for (int i = 0; i < 5 && first == null; i++) {
            ProbeCall c = settle(maxTokens);
            if (c.admitted()) {
                first = c;
            } else if (c.kind() == ProbeCall.Kind.TOKENS) {
                LimitProbe.sleep(c.retryAfter().orElse(Duration.ofSeconds(1)));
            } else {
                break;
            }
        }
        if (first == null) {
            return fallbackWindow("the 60% call was not admitted");
        }
        ProbeCall second = settle(maxTokens);
        if (second.kind() != ProbeCall.Kind.TOKENS) {
            return fallbackWindow("a second 60% call was " + (second.admitted() ? "admitted" : second.message()));
        }
        Optional<Duration> r = second.retryAfter();
        if (r.isPresent() && r.get().toMillis() % 1000 != 0) {
            return HeaderLimits.nice(Duration.ofNanos(second.sentNanos() + r.get().toNanos() - first.sentNanos()));
        }
        long t1 = first.sentNanos();
        LimitProbe.sleep(r.map(d -> d.minusSeconds(1)).orElse(Duration.ZERO));
        while (true) {
            ProbeCall c = settle(maxTokens);
            if (c.admitted()) {
                return HeaderLimits.nice(Duration.ofNanos(c.sentNanos() - t1));
            }
            LimitProbe.sleep(Duration.ofNanos(Math.max(10_000_000, (System.nanoTime() - t1) / 20)));
        }
    }

    private Duration fallbackWindow(String why) {
        Duration w = requests != null ? requests.window() : Duration.ofMinutes(1);
        notes.add("tokens: window not measured (" + why + "); assuming " + Durations.format(w));
        return w;
    }

    /** Waits while our own calls fill the request window but one, so the ramp never meets a request 429. */
    private void pace() throws InterruptedException {
        if (requests == null) {
            return;
        }
        long window = requests.window().toNanos() * 21 / 20;
        while (true) {
            long now = System.nanoTime();
            List<ProbeCall> recent = client.calls().stream().filter(ProbeCall::admitted)
                    .filter(c -> now - c.sentNanos() < window)
                    .sorted(Comparator.comparingLong(ProbeCall::sentNanos)).toList();
            if (recent.isEmpty() || recent.size() < Math.max(1, requests.amount() - 1)) {
                return;
            }
            LimitProbe.sleep(Duration.ofNanos(recent.get(0).sentNanos() + window - now + 1_000_000));
        }
    }
}
