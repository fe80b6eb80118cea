package io.llmlimiter.server;

import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import io.llmlimiter.client.Durations;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TargetUsage;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The server's meters: HTTP timings ({@code http.server.requests}, tagged with the route template,
 * never the raw path) and, per target, usage against each limit, concurrency, waiting callers,
 * cooldown, the effective amount of each limit (with why it differs from the configured one), the
 * delivery margin and the counters Redis keeps. Per-target values are read from Redis by
 * {@link #refresh()}, which {@code /metrics} calls before each scrape. Tags are bounded: the
 * {@code target} tag only takes configured targets, {@code resource}/{@code window} the limits of
 * their configs, {@code reason} one of configured, 429 or headers, {@code event} a fixed list; no secret is ever a tag. Thread-safe.
 */
public final class ServerMetrics {

    /** The prefix of every meter the server defines. */
    public static final String PREFIX = "llmlimiter.";

    private static final String START = "llmlimiter.start";
    // Any token can be an HTTP method; only these become tag values, so tags stay bounded.
    private static final java.util.Set<String> METHODS = java.util.Set.of("GET", "HEAD", "POST", "PUT", "PATCH",
            "DELETE", "OPTIONS", "TRACE");

    private final MeterRegistry registry;
    private final LimiterAdmin admin;
    private final Snapshots snapshots;
    private Snapshots.Reading shown;
    private final MultiGauge windowUsed;
    private final MultiGauge windowLimit;
    private final MultiGauge windowEffective;
    private final MultiGauge margin;
    private final MultiGauge inFlight;
    private final MultiGauge maxConcurrent;
    private final MultiGauge waiting;
    private final MultiGauge cooldown;
    private final Map<Target, Map<String, Long>> counters = new ConcurrentHashMap<>();
    private final Map<Target, List<Meter>> counterMeters = new HashMap<>();
    private volatile RedisHealth health = new RedisHealth(false, java.time.Duration.ZERO);

    /**
     * @param registry where the meters go
     * @param admin the limiter's admin, read by {@link #refresh()}
     */
    public ServerMetrics(MeterRegistry registry, LimiterAdmin admin) {
        this(registry, admin, new Snapshots(admin));
    }

    /**
     * @param registry where the meters go
     * @param admin the limiter's admin, for the health check
     * @param snapshots the shared, briefly cached reading of every target
     */
    ServerMetrics(MeterRegistry registry, LimiterAdmin admin, Snapshots snapshots) {
        this.registry = registry;
        this.admin = admin;
        this.snapshots = snapshots;
        this.windowUsed = MultiGauge.builder(PREFIX + "target.window.used")
                .description("Amount used in the sliding window of each limit").register(registry);
        this.windowLimit = MultiGauge.builder(PREFIX + "target.window.limit")
                .description("Amount allowed in the sliding window of each limit").register(registry);
        this.windowEffective = MultiGauge.builder(PREFIX + "target.window.effective")
                .description("Amount admissions are checked against now: the configured limit, or less when learned "
                        + "from the provider (reason: configured, 429 or headers)").register(registry);
        this.margin = MultiGauge.builder(PREFIX + "target.delivery.margin").baseUnit("seconds")
                .description("How much longer than its window every window counts an admission").register(registry);
        this.inFlight = MultiGauge.builder(PREFIX + "target.inflight")
                .description("Calls holding a lease now").register(registry);
        this.maxConcurrent = MultiGauge.builder(PREFIX + "target.max.concurrent")
                .description("Configured concurrency cap, 0 for none").register(registry);
        this.waiting = MultiGauge.builder(PREFIX + "target.waiting")
                .description("Callers waiting in line").register(registry);
        this.cooldown = MultiGauge.builder(PREFIX + "target.cooldown.remaining").baseUnit("seconds")
                .description("Time left in the pause after a provider 429").register(registry);
        Gauge.builder(PREFIX + "redis.up", this, m -> m.health.reachable() ? 1 : 0)
                .description("1 when Redis answered the last check").register(registry);
        Gauge.builder(PREFIX + "redis.latency", this, m -> m.health.latency().toNanos() / 1e9).baseUnit("seconds")
                .description("Round trip of the last Redis check").register(registry);
    }

    /** @return the registry */
    public MeterRegistry registry() {
        return registry;
    }

    /**
     * Marks the start of a request (a {@code before} handler).
     *
     * @param ctx the request
     */
    public void startRequest(Context ctx) {
        ctx.attribute(START, System.nanoTime());
    }

    /**
     * Records a finished request (an {@code after} handler) under its route template.
     *
     * @param ctx the request
     */
    public void endRequest(Context ctx) {
        Long start = ctx.attribute(START);
        if (start == null) {
            return;
        }
        Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
        String route = endpoint == null ? "unmatched" : endpoint.path;
        int status = ctx.statusCode();
        Timer.builder("http.server.requests")
                .tags("method", METHODS.contains(ctx.method().name()) ? ctx.method().name() : "OTHER", "route", route, "status", Integer.toString(status),
                        "outcome", status >= 500 ? "SERVER_ERROR" : status >= 400 ? "CLIENT_ERROR" : "SUCCESS")
                .register(registry).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    }

    /**
     * Puts every target's usage and counters into the meters, from a reading at most about a second
     * old (one batch of Redis reads shared with the stats routes).
     */
    public synchronized void refresh() {
        health = RedisHealth.check(admin);
        if (!health.reachable()) {
            return;
        }
        Snapshots.Reading reading;
        try {
            reading = snapshots.get();
        } catch (RuntimeException e) {
            return;
        }
        if (reading == shown) {
            return;
        }
        shown = reading;
        List<TargetSnapshot> snaps = reading.targets();
        List<MultiGauge.Row<?>> used = new ArrayList<>();
        List<MultiGauge.Row<?>> limit = new ArrayList<>();
        List<MultiGauge.Row<?>> effective = new ArrayList<>();
        List<MultiGauge.Row<?>> margins = new ArrayList<>();
        List<MultiGauge.Row<?>> inflight = new ArrayList<>();
        List<MultiGauge.Row<?>> max = new ArrayList<>();
        List<MultiGauge.Row<?>> wait = new ArrayList<>();
        List<MultiGauge.Row<?>> cool = new ArrayList<>();
        Map<Target, Map<String, Long>> seen = new HashMap<>();
        for (TargetSnapshot s : snaps) {
            Tags target = Tags.of("target", s.target().toString());
            for (TargetUsage.WindowUsage w : s.usage().windows()) {
                Tags tags = target.and("resource", w.limit().resource().label(), "window", Durations.format(w.limit().window()));
                used.add(MultiGauge.Row.of(tags, w.used()));
                limit.add(MultiGauge.Row.of(tags, w.limit().amount()));
                effective.add(MultiGauge.Row.of(tags.and("reason", TargetSnapshot.reason(w)), w.effective()));
            }
            margins.add(MultiGauge.Row.of(target, s.usage().deliveryMargin().toMillis() / 1000.0));
            inflight.add(MultiGauge.Row.of(target, s.usage().inFlight()));
            max.add(MultiGauge.Row.of(target, s.config().maxConcurrent()));
            wait.add(MultiGauge.Row.of(target, s.usage().waiting()));
            cool.add(MultiGauge.Row.of(target, s.cooldownRemaining().toMillis() / 1000.0));
            seen.put(s.target(), s.counters());
        }
        windowUsed.register(used, true);
        windowLimit.register(limit, true);
        windowEffective.register(effective, true);
        margin.register(margins, true);
        inFlight.register(inflight, true);
        maxConcurrent.register(max, true);
        waiting.register(wait, true);
        cooldown.register(cool, true);
        updateCounters(seen);
    }

    private void updateCounters(Map<Target, Map<String, Long>> seen) {
        counters.putAll(seen);
        for (Target t : new ArrayList<>(counterMeters.keySet())) {
            if (!seen.containsKey(t)) {
                counterMeters.remove(t).forEach(registry::remove);
                counters.remove(t);
            }
        }
        for (Target t : seen.keySet()) {
            counterMeters.computeIfAbsent(t, this::registerCounters);
        }
    }

    private List<Meter> registerCounters(Target t) {
        List<Meter> meters = new ArrayList<>();
        for (String name : TargetSnapshot.COUNTERS) {
            ToDoubleFunction<ServerMetrics> value = m -> m.counters.getOrDefault(t, Map.of()).getOrDefault(name, 0L);
            boolean tokens = name.endsWith("_tokens");
            FunctionCounter.Builder<ServerMetrics> b = tokens
                    ? FunctionCounter.builder(PREFIX + "target.tokens", this, value)
                            .tags("target", t.toString(), "kind", name.substring(0, name.length() - "_tokens".length()))
                            .description("Tokens counted by Redis, by kind")
                    : FunctionCounter.builder(PREFIX + "target.events", this, value)
                            .tags("target", t.toString(), "event", name)
                            .description("Admissions, refusals by reason, completions, provider 429s and retries");
            meters.add(b.register(registry));
        }
        return meters;
    }
}
