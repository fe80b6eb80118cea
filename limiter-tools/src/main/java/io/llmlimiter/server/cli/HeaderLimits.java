package io.llmlimiter.server.cli;

import io.llmlimiter.client.Resource;
import io.llmlimiter.client.retry.ProviderSignals;
import io.llmlimiter.client.retry.SignalResource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a provider's limits from the rate-limit headers of two calls made at the same moment.
 * Headers give the limit but not its window; the reset time tells it. A sliding-log provider
 * (the mock) resets when its newest charge leaves, so both calls report about the window itself;
 * a replenishing bucket (OpenAI, Anthropic) resets in proportion to what is used, so the second
 * call reports a reset longer by the same ratio as its usage, and the window is
 * {@code reset * limit / used}. This class is stateless and thread-safe.
 */
public final class HeaderLimits {

    private HeaderLimits() {
    }

    /**
     * @param a the headers of one call
     * @param b the headers of a call made at the same moment
     * @param notes where to say when the provider was not idle and the window is a guess
     * @return every limit both calls reported with a limit, remaining and reset
     */
    public static Map<Resource, Finding> infer(ProviderSignals a, ProviderSignals b, List<String> notes) {
        Map<Resource, Finding> out = new EnumMap<>(Resource.class);
        for (SignalResource r : SignalResource.values()) {
            Optional<Obs> x = Obs.of(a, r);
            Optional<Obs> y = Obs.of(b, r);
            if (x.isEmpty() || y.isEmpty()) {
                continue;
            }
            Obs lo = x.get().used <= y.get().used ? x.get() : y.get();
            Obs hi = lo == x.get() ? y.get() : x.get();
            Resource resource = Resource.valueOf(r.name());
            out.put(resource, new Finding(hi.limit, window(lo, hi, resource, notes), "headers", false));
        }
        return out;
    }

    private static Duration window(Obs lo, Obs hi, Resource resource, List<String> notes) {
        double resetLo = Math.max(1, lo.resetMillis);
        double resetHi = Math.max(1, hi.resetMillis);
        if (hi.used > lo.used && lo.used > 0) {
            double observed = Math.log(resetHi / resetLo);
            double proportional = Math.log((double) hi.used / lo.used);
            if (Math.abs(observed - proportional) < Math.abs(observed)) {
                return nice(Duration.ofMillis(Math.round(resetHi * hi.limit / hi.used)));
            }
            return nice(Duration.ofMillis(Math.round(resetHi)));
        }
        notes.add(resource.label() + ": the provider was not idle (" + hi.used + " of " + hi.limit
                + " used), so the window is read as a sliding log's; check it");
        return nice(Duration.ofMillis(Math.round(resetHi)));
    }

    /**
     * Rounds a measured window to what a provider would configure: whole minutes or seconds when
     * within 3%, else 10 ms.
     *
     * @param measured a measured window
     * @return the rounded window, at least 1 ms
     */
    public static Duration nice(Duration measured) {
        long ms = Math.max(1, measured.toMillis());
        for (long unit : new long[] {3_600_000, 60_000, 1000}) {
            long whole = Math.round((double) ms / unit);
            if (whole >= 1 && Math.abs(ms - whole * unit) <= 0.03 * whole * unit) {
                return Duration.ofMillis(whole * unit);
            }
        }
        return Duration.ofMillis(Math.max(1, Math.round(ms / 10.0) * 10));
    }

    /** One budget as one response reported it. */
    private record Obs(long limit, long used, long resetMillis) {
        static Optional<Obs> of(ProviderSignals s, SignalResource r) {
            Optional<ProviderSignals.Budget> b = s.budget(r);
            if (b.isEmpty() || b.get().limit().isEmpty() || b.get().remaining().isEmpty() || b.get().resetIn().isEmpty()
                    || b.get().limit().getAsLong() <= 0) {
                return Optional.empty();
            }
            long limit = b.get().limit().getAsLong();
            long used = limit - b.get().remaining().getAsLong();
            return Optional.of(new Obs(limit, used, b.get().resetIn().get().toMillis()));
        }
    }

    /**
     * @param signals a response's signals
     * @return the resources it reported limits for
     */
    static List<Resource> reported(ProviderSignals signals) {
        List<Resource> out = new ArrayList<>();
        for (ProviderSignals.Budget b : signals.budgets()) {
            if (b.limit().isPresent()) {
                out.add(Resource.valueOf(b.resource().name()));
            }
        }
        return out;
    }
}
