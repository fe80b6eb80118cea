package io.llmlimiter.server;

import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import io.llmlimiter.client.Budget;
import io.llmlimiter.client.Durations;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TargetUsage;
import io.llmlimiter.client.internal.Counters;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
    // Mutable state, guarded by this: the reading the meters show and each target's meters.
    private Snapshots.Reading shown;
    private final Map<Target, TargetMeters> meters = new HashMap<>();
    // Read by the meters' value functions while a scrape runs.
    private volatile Map<Target, TargetSnapshot> latest = Map.of();
    private volatile RedisHealth health = new RedisHealth(false, java.time.Duration.ZERO);

    /** A target's meters, registered for one shape of its limits (resources, windows, reasons). */
    private record TargetMeters(List<String> shape, List<Meter> meters) {
    }

    /**
     * @param registry where the meters go
     * @param admin the limiter's admin, read by {@link #refresh()}
     */
    public ServerMetrics(MeterRegistry registry, LimiterAdmin admin) {
        this(registry, admin, new Snapshots(admin, registry));
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
     * old (one batch of Redis reads shared with the stats routes). A target's meters are registered
     * when it first appears or its limits change, and removed when it goes; in between a refresh
     * only swaps the values they read.
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
        Map<Target, TargetSnapshot> next = new HashMap<>();
        reading.targets().forEach(s -> next.put(s.target(), s));
        latest = next;
        for (Target t : new ArrayList<>(meters.keySet())) {
            if (!next.containsKey(t)) {
                meters.remove(t).meters().forEach(registry::remove);
            }
        }
        for (TargetSnapshot s : reading.targets()) {
            List<String> shape = shape(s);
            TargetMeters m = meters.get(s.target());
            if (m == null || !m.shape().equals(shape)) {
                if (m != null) {
                    m.meters().forEach(registry::remove);
                }
                meters.put(s.target(), new TargetMeters(shape, register(s)));
            }
        }
    }

    private static List<String> shape(TargetSnapshot s) {
        List<String> shape = new ArrayList<>();
        for (TargetUsage.WindowUsage w : s.usage().windows()) {
            shape.add(w.limit().resource().label() + " " + Durations.format(w.limit().window()) + " " + TargetSnapshot.reason(w));
        }
        s.config().budgets().forEach(b -> shape.add(b.toString()));
        return shape;
    }

    /** @return the value of a target's snapshot now, NaN once the target is gone */
    private double value(Target t, ToDoubleFunction<TargetSnapshot> f) {
        TargetSnapshot s = latest.get(t);
        return s == null ? Double.NaN : f.applyAsDouble(s);
    }

    private double window(Target t, int index, ToDoubleFunction<TargetUsage.WindowUsage> f) {
        TargetSnapshot s = latest.get(t);
        return s == null || index >= s.usage().windows().size() ? Double.NaN : f.applyAsDouble(s.usage().windows().get(index));
    }

    private List<Meter> register(TargetSnapshot snap) {
        Target t = snap.target();
        Tags target = Tags.of("target", t.toString());
        List<Meter> out = new ArrayList<>();
        List<TargetUsage.WindowUsage> windows = snap.usage().windows();
        for (int i = 0; i < windows.size(); i++) {
            TargetUsage.WindowUsage w = windows.get(i);
            int index = i;
            Tags tags = target.and("resource", w.limit().resource().label(), "window", Durations.format(w.limit().window()));
            out.add(Gauge.builder(PREFIX + "target.window.used", this, m -> m.window(t, index, TargetUsage.WindowUsage::used))
                    .tags(tags).description("Amount used in the sliding window of each limit").register(registry));
            out.add(Gauge.builder(PREFIX + "target.window.limit", this,
                            m -> m.window(t, index, x -> x.limit().amount()))
                    .tags(tags).description("Amount allowed in the sliding window of each limit").register(registry));
            out.add(Gauge.builder(PREFIX + "target.window.effective", this,
                            m -> m.window(t, index, TargetUsage.WindowUsage::effective))
                    .tags(tags.and("reason", TargetSnapshot.reason(w)))
                    .description("Amount admissions are checked against now: the configured limit, or less when learned "
                            + "from the provider (reason: configured, 429 or headers)").register(registry));
        }
        out.add(Gauge.builder(PREFIX + "target.delivery.margin", this,
                        m -> m.value(t, s -> s.usage().deliveryMargin().toMillis() / 1000.0)).tags(target).baseUnit("seconds")
                .description("How much longer than its window every window counts an admission").register(registry));
        out.add(Gauge.builder(PREFIX + "target.inflight", this, m -> m.value(t, s -> s.usage().inFlight())).tags(target)
                .description("Calls holding a lease now").register(registry));
        out.add(Gauge.builder(PREFIX + "target.max.concurrent", this, m -> m.value(t, s -> s.config().maxConcurrent()))
                .tags(target).description("Configured concurrency cap, 0 for none").register(registry));
        out.add(Gauge.builder(PREFIX + "target.waiting", this, m -> m.value(t, s -> s.usage().waiting())).tags(target)
                .description("Callers waiting in line").register(registry));
        out.add(Gauge.builder(PREFIX + "target.cooldown.remaining", this,
                        m -> m.value(t, s -> s.cooldownRemaining().toMillis() / 1000.0)).tags(target).baseUnit("seconds")
                .description("Time left in the pause after a provider 429").register(registry));
        out.add(FunctionCounter.builder(PREFIX + "cost.usd", this,
                        m -> m.value(t, s -> s.counter(Counters.COST) / 1e6)).tags(target)
                .description("Actual cost of completed calls, in dollars (priced from the usage)").register(registry));
        out.add(Gauge.builder(PREFIX + "cost.usd.today", this, m -> m.value(t, s -> s.counter(Counters.COST_TODAY) / 1e6))
                .tags(target).description("Actual cost of the current UTC day, in dollars").register(registry));
        out.add(Gauge.builder(PREFIX + "cost.usd.month", this, m -> m.value(t, s -> s.counter(Counters.COST_MONTH) / 1e6))
                .tags(target).description("Actual cost of the current UTC month, in dollars").register(registry));
        for (Budget b : snap.config().budgets()) {
            out.add(Gauge.builder(PREFIX + "target.budget.usd", this,
                            m -> m.value(t, s -> b.microUsd() / 1e6)).tags(target.and("budget", b.toString()))
                    .description("Dollar budget of each target").register(registry));
        }
        for (String name : TargetSnapshot.COUNTERS) {
            ToDoubleFunction<ServerMetrics> value = m -> m.value(t, s -> s.counter(name));
            boolean tokens = name.endsWith("_tokens");
            FunctionCounter.Builder<ServerMetrics> b = tokens
                    ? FunctionCounter.builder(PREFIX + "target.tokens", this, value)
                            .tags("target", t.toString(), "kind", name.substring(0, name.length() - "_tokens".length()))
                            .description("Tokens counted by Redis, by kind")
                    : FunctionCounter.builder(PREFIX + "target.events", this, value)
                            .tags("target", t.toString(), "event", name)
                            .description("Admissions, refusals by reason, completions, provider 429s and retries");
            out.add(b.register(registry));
        }
        return out;
    }
}
