package io.llmlimiter.server;

import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import io.llmlimiter.client.Budget;
import io.llmlimiter.client.Durations;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TargetUsage;
import io.llmlimiter.client.TenantUsage;
import io.llmlimiter.client.internal.Counters;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
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
 * delivery margin and the counters Redis keeps; per tenant ({@code tenant} tag, at most
 * {@link #METRIC_TENANTS} per target, the rest summed under {@code other}) admitted requests and
 * tokens, waiting callers and spend; per priority class ({@code priority} tag) admission waits.
 * Per-target values are read from Redis by
 * {@link #refresh()}, which {@code /metrics} calls before each scrape. Tags are bounded: the
 * {@code target} tag only takes configured targets, {@code resource}/{@code window} the limits of
 * their configs, {@code reason} one of configured, 429 or headers, {@code event} a fixed list; no secret is ever a tag. Thread-safe.
 */
public final class ServerMetrics {

    /** The prefix of every meter the server defines. */
    public static final String PREFIX = "llmlimiter.";

    /** How many tenants of a target have series of their own; the others are summed under {@link #OTHER}. */
    public static final int METRIC_TENANTS = 20;
    /** The tenant tag of what tenants past {@link #METRIC_TENANTS} add up to. */
    public static final String OTHER = "other";

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
    // Each target's tenants with series of their own (and other once used), and its classes with wait series.
    private final Map<Target, Map<String, List<Meter>>> tenantMeters = new HashMap<>();
    private final Map<Target, Map<Priority, List<Meter>>> waitMeters = new HashMap<>();
    // Read by the meters' value functions while a scrape runs.
    private volatile Map<Target, TargetSnapshot> latest = Map.of();
    // Per target, per tenant series: requests, tokens, waiting, spend today and this month (micro-dollars).
    private volatile Map<Target, Map<String, long[]>> tenantValues = Map.of();
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
                Map<String, List<Meter>> tenants = tenantMeters.remove(t);
                if (tenants != null) {
                    tenants.values().forEach(list -> list.forEach(registry::remove));
                }
                Map<Priority, List<Meter>> waits = waitMeters.remove(t);
                if (waits != null) {
                    waits.values().forEach(list -> list.forEach(registry::remove));
                }
            }
        }
        Map<Target, Map<String, long[]>> values = new HashMap<>();
        for (TargetSnapshot s : reading.targets()) {
            values.put(s.target(), tenants(s));
            registerWaits(s);
        }
        tenantValues = values;
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

    /**
     * Gives the target's tenants series up to {@link #METRIC_TENANTS}, most tokens (then spend)
     * first; a tenant keeps its series while Redis holds it, later ones are summed under other.
     *
     * @return the values of the target's tenant series now
     */
    private Map<String, long[]> tenants(TargetSnapshot s) {
        Target t = s.target();
        Map<String, List<Meter>> shown = tenantMeters.computeIfAbsent(t, k -> new HashMap<>());
        java.util.Set<String> present = new java.util.HashSet<>();
        s.tenants().forEach(u -> present.add(u.tenant()));
        for (String name : new ArrayList<>(shown.keySet())) {
            if (!name.equals(OTHER) && !present.contains(name)) {
                shown.remove(name).forEach(registry::remove);
            }
        }
        Map<String, long[]> values = new HashMap<>();
        for (TenantUsage u : s.tenants()) {
            String name = u.tenant();
            if (!shown.containsKey(name)) {
                long own = shown.keySet().stream().filter(n -> !n.equals(OTHER)).count();
                if (name.equals(OTHER) || own >= METRIC_TENANTS) {
                    name = OTHER;
                }
                if (!shown.containsKey(name)) {
                    shown.put(name, registerTenant(t, name));
                }
            }
            long[] v = values.computeIfAbsent(name, k -> new long[5]);
            v[0] += u.requests();
            v[1] += u.tokens();
            v[2] += u.waiting();
            v[3] += u.costTodayMicros();
            v[4] += u.costMonthMicros();
        }
        return values;
    }

    /** @return a tenant series' value now: 0 when the tenant added nothing, NaN once the target is gone */
    private double tenant(Target t, String tenant, int index, double scale) {
        Map<String, long[]> v = tenantValues.get(t);
        if (v == null) {
            return Double.NaN;
        }
        long[] x = v.get(tenant);
        return x == null ? 0 : x[index] / scale;
    }

    private List<Meter> registerTenant(Target t, String tenant) {
        Tags tags = Tags.of("target", t.toString(), "tenant", tenant);
        return List.of(
                FunctionCounter.builder(PREFIX + "tenant.admitted.requests", this, m -> m.tenant(t, tenant, 0, 1))
                        .tags(tags).description("Requests admitted per tenant on targets that share fairly")
                        .register(registry),
                FunctionCounter.builder(PREFIX + "tenant.admitted.tokens", this, m -> m.tenant(t, tenant, 1, 1))
                        .tags(tags).description("Tokens admitted per tenant (admission estimates) on targets that share fairly")
                        .register(registry),
                Gauge.builder(PREFIX + "tenant.waiting", this, m -> m.tenant(t, tenant, 2, 1)).tags(tags)
                        .description("Waiting callers per tenant on targets that share fairly").register(registry),
                Gauge.builder(PREFIX + "tenant.cost.usd.today", this, m -> m.tenant(t, tenant, 3, 1e6)).tags(tags)
                        .description("Actual cost per tenant of the current UTC day, in dollars").register(registry),
                FunctionCounter.builder(PREFIX + "tenant.cost.usd", this, m -> m.tenant(t, tenant, 4, 1e6)).tags(tags)
                        .description("Actual cost per tenant of the current UTC month, in dollars (starts again each month)")
                        .register(registry));
    }

    /** Registers the admission wait series of each class the target has admitted. */
    private void registerWaits(TargetSnapshot s) {
        Target t = s.target();
        Map<Priority, List<Meter>> shown = waitMeters.computeIfAbsent(t, k -> new java.util.EnumMap<>(Priority.class));
        for (Priority p : Priority.values()) {
            if (shown.containsKey(p) || s.waitCount(p) == 0) {
                continue;
            }
            Tags tags = Tags.of("target", t.toString(), "priority", p.label());
            shown.put(p, List.of(
                    FunctionTimer.builder(PREFIX + "target.admission.wait", this,
                                    m -> {
                                        TargetSnapshot x = m.latest.get(t);
                                        return x == null ? 0 : x.waitCount(p);
                                    },
                                    m -> m.value(t, x -> x.waitMicros(p)),
                                    TimeUnit.MICROSECONDS)
                            .tags(tags).description("Admission waits (from acquire to admission) per priority class")
                            .register(registry),
                    Gauge.builder(PREFIX + "target.admission.wait.max", this, m -> m.value(t, x -> x.waitMaxMicros(p) / 1e6))
                            .tags(tags).baseUnit("seconds").description("Longest admission wait per priority class")
                            .register(registry)));
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
