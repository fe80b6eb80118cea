package io.llmlimiter.client.internal;

import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.retry.ProviderSignals;
import io.llmlimiter.client.retry.SignalResource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which limits stated in a provider's headers are worth telling the fleet: those lower than a
 * configured limit of the same resource and window, and each at most when its value changes or
 * once a second per target and resource, so a busy client does not run a script per response.
 * Both OpenAI's {@code x-ratelimit-limit-*} and Anthropic's {@code anthropic-ratelimit-*-limit}
 * state a per-minute amount. This class is thread-safe; the memory it keeps is one entry per
 * target and resource told.
 */
final class ProviderLimits {

    /** The window both providers' limit headers describe. */
    static final Duration PROVIDER_WINDOW = Duration.ofMinutes(1);

    private static final long EVERY_NANOS = 1_000_000_000L;

    /** A limit the provider stated. */
    record Stated(Resource resource, long amount, Duration window) {
    }

    private record Key(Target target, Resource resource) {
    }

    private record Told(long amount, long atNanos) {
    }

    private final Map<Key, Told> told = new ConcurrentHashMap<>();

    /**
     * @param signals what the provider's headers said
     * @param config the target's config as last read, or null when unknown (nothing is told then)
     * @param nowNanos {@link System#nanoTime()}
     * @return the stated limits to tell the fleet now, each recorded as told
     */
    List<Stated> toTell(ProviderSignals signals, LimitConfig config, long nowNanos) {
        List<Stated> out = new ArrayList<>();
        if (config == null) {
            return out;
        }
        for (ProviderSignals.Budget b : signals.budgets()) {
            if (b.limit().isEmpty()) {
                continue;
            }
            Stated s = new Stated(resource(b.resource()), b.limit().getAsLong(), PROVIDER_WINDOW);
            if (lowerThanConfigured(config, s) && due(config.target(), s, nowNanos)) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * @param config a config
     * @param s a stated limit
     * @return whether a configured limit of the same resource, with a window within 10% of the
     *     stated one (the rule {@code learn.lua} applies), allows more than the provider says
     */
    static boolean lowerThanConfigured(LimitConfig config, Stated s) {
        long window = s.window().toMillis();
        for (Limit l : config.limits()) {
            if (l.resource() == s.resource() && Math.abs(l.window().toMillis() - window) * 10 <= window
                    && l.amount() > s.amount()) {
                return true;
            }
        }
        return false;
    }

    private boolean due(Target target, Stated s, long nowNanos) {
        boolean[] due = {false};
        told.compute(new Key(target, s.resource()), (k, last) -> {
            if (last == null || last.amount() != s.amount() || nowNanos - last.atNanos() >= EVERY_NANOS) {
                due[0] = true;
                return new Told(s.amount(), nowNanos);
            }
            return last;
        });
        return due[0];
    }

    static Resource resource(SignalResource r) {
        return switch (r) {
            case REQUESTS -> Resource.REQUESTS;
            case TOKENS -> Resource.TOKENS;
            case INPUT_TOKENS -> Resource.INPUT_TOKENS;
            case OUTPUT_TOKENS -> Resource.OUTPUT_TOKENS;
        };
    }
}
