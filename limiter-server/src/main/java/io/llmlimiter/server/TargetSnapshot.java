package io.llmlimiter.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.Budget;
import io.llmlimiter.client.Durations;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.TargetReading;
import io.llmlimiter.client.TargetUsage;
import io.llmlimiter.client.TenantUsage;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.client.internal.Counters;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One target's config, live usage, counters, recent admission waits and tenants, read from Redis at one
 * moment: what the stats routes, the dashboard, the history and the metrics show. Immutable and
 * thread-safe.
 *
 * @param config the target's config
 * @param usage its usage now
 * @param counters its counters ({@code admitted}, {@code refused_*}, {@code provider_429}, ...)
 * @param waits the admission waits clients reported for it over about the last 15 seconds
 * @param tenants its tenants' admissions, waiting callers and spend
 */
public record TargetSnapshot(LimitConfig config, TargetUsage usage, Map<String, Long> counters,
                             TargetReading.Waits waits, List<TenantUsage> tenants) {

    /** The counters every target reports, zero until they happen. */
    public static final List<String> COUNTERS = List.of("admitted", "refused_window", "refused_concurrency",
            "refused_cooldown", "refused_queued", "refused_provider", "completed", "provider_429", "learned_429",
            "retries", "actual_input_tokens", "actual_output_tokens", "estimated_tokens", "cache_read_tokens",
            "refused_budget");

    private static final String WAIT_COUNT = "wait_count:";
    private static final String WAIT_MICROS = "wait_us:";
    private static final String WAIT_MAX_MICROS = "wait_max_us:";

    /** Copies the counters and tenants. */
    public TargetSnapshot {
        counters = Map.copyOf(counters);
        tenants = List.copyOf(tenants);
    }

    /** A snapshot without tenants. */
    public TargetSnapshot(LimitConfig config, TargetUsage usage, Map<String, Long> counters, TargetReading.Waits waits) {
        this(config, usage, counters, waits, List.of());
    }

    /**
     * @param r a reading
     * @return its snapshot
     */
    public static TargetSnapshot of(TargetReading r) {
        return new TargetSnapshot(r.config(), r.usage(), r.counters(), r.waits(), r.tenants());
    }

    /**
     * @param admin the limiter's admin
     * @param target a target
     * @return its snapshot (one batch of reads), or empty when it has no config
     */
    public static Optional<TargetSnapshot> read(LimiterAdmin admin, Target target) {
        return admin.read(List.of(target)).stream().findFirst().map(TargetSnapshot::of);
    }

    /** @return the target */
    public Target target() {
        return config.target();
    }

    /**
     * @param name a counter name
     * @return its value, 0 when it never happened
     */
    public long counter(String name) {
        return counters.getOrDefault(name, 0L);
    }

    /** @return how long the cooldown after a provider 429 still lasts, zero when none */
    public Duration cooldownRemaining() {
        if (usage.cooldownUntil() == null || !usage.cooldownUntil().isAfter(usage.at())) {
            return Duration.ZERO;
        }
        return Duration.between(usage.at(), usage.cooldownUntil());
    }

    /**
     * @param w a window's usage
     * @return why its effective amount differs from the configured one: {@code configured} (it
     *     does not), {@code 429} (learned from provider refusals) or {@code headers} (the
     *     provider's stated limit)
     */
    public static String reason(TargetUsage.WindowUsage w) {
        return w.reason().isEmpty() ? "configured" : w.reason();
    }

    /**
     * @param micros micro-dollars
     * @return exact dollars
     */
    public static BigDecimal usd(long micros) {
        return BigDecimal.valueOf(micros, 6);
    }

    /**
     * @return actual spend (all time, this UTC day, this UTC month, in exact dollars) and the
     *     dollar budgets, with what calendar budgets hold this period
     */
    public ObjectNode cost() {
        ObjectNode c = ConfigJson.MAPPER.createObjectNode();
        c.put("total_usd", usd(counter(Counters.COST)));
        c.put("today_usd", usd(counter(Counters.COST_TODAY)));
        c.put("month_usd", usd(counter(Counters.COST_MONTH)));
        ArrayNode budgets = c.putArray("budgets");
        for (Budget b : config.budgets()) {
            ObjectNode x = budgets.addObject().put("budget", b.toString()).put("usd", b.usd());
            if (b.calendar()) {
                long held = counter(b.period() == Budget.Period.DAY ? Counters.BUDGET_DAY : Counters.BUDGET_MONTH);
                x.put("period", b.period().label()).put("reserved_usd", usd(held))
                        .put("left_usd", usd(Math.max(0, b.microUsd() - held)));
            } else {
                x.put("window", Durations.format(b.window()));
            }
        }
        return c;
    }

    /**
     * @param p a priority class
     * @return admissions of that class since the stats began, as the clients recorded them
     */
    public long waitCount(Priority p) {
        return counter(WAIT_COUNT + p.label());
    }

    /**
     * @param p a priority class
     * @return the summed wait of its admissions, in microseconds
     */
    public long waitMicros(Priority p) {
        return counter(WAIT_MICROS + p.label());
    }

    /**
     * @param p a priority class
     * @return the longest wait of its admissions, in microseconds
     */
    public long waitMaxMicros(Priority p) {
        return counter(WAIT_MAX_MICROS + p.label());
    }

    /**
     * @return the admission waits per priority class since the stats began: {@code count},
     *     {@code mean_ms}, {@code max_ms} of each class (count 0 when none was admitted)
     */
    public ObjectNode priorityWaits() {
        ObjectNode o = ConfigJson.MAPPER.createObjectNode();
        for (Priority p : Priority.values()) {
            long n = waitCount(p);
            o.putObject(p.label()).put("count", n).put("mean_ms", n == 0 ? 0 : waitMicros(p) / 1e3 / n)
                    .put("max_ms", waitMaxMicros(p) / 1e3);
        }
        return o;
    }

    /**
     * @param today micro-dollars spent this UTC day
     * @param month micro-dollars spent this UTC month
     * @return {@code {"today_usd", "month_usd"}} in exact dollars
     */
    public static ObjectNode spend(long today, long month) {
        return ConfigJson.MAPPER.createObjectNode().put("today_usd", usd(today)).put("month_usd", usd(month));
    }

    /** @return the stats as the API serves them */
    public ObjectNode toJson() {
        ObjectNode o = ConfigJson.MAPPER.createObjectNode();
        o.put("target", target().toString());
        o.put("provider", target().provider());
        o.put("model", target().model());
        o.put("at", usage.at().toString());
        // "default": a client wrote the default config because Redis had none for the target.
        o.put("config_source", config.autoCreated() ? "default" : "configured");
        // Whether the budget is shared among tenants: their usage is at .../tenants.
        o.put("fair_share", config.fairShare() != null);
        ObjectNode conc = o.putObject("concurrency");
        conc.put("in_flight", usage.inFlight());
        conc.put("max_concurrent", config.maxConcurrent());
        o.put("waiting", usage.waiting());
        ObjectNode cooldown = o.putObject("cooldown");
        Duration remaining = cooldownRemaining();
        cooldown.put("active", !remaining.isZero());
        cooldown.put("until", remaining.isZero() ? null : usage.cooldownUntil().toString());
        cooldown.put("remaining_ms", remaining.toMillis());
        o.put("delivery_margin_ms", usage.deliveryMargin().toMillis());
        ArrayNode windows = o.putArray("windows");
        for (TargetUsage.WindowUsage w : usage.windows()) {
            windows.addObject()
                    .put("resource", w.limit().resource().label())
                    .put("amount", w.limit().amount())
                    .put("window", Durations.format(w.limit().window()))
                    .put("counted_for", Durations.format(w.limit().window().plus(usage.deliveryMargin())))
                    .put("used", w.used())
                    .put("effective", w.effective())
                    .put("reason", reason(w));
        }
        ObjectNode w = o.putObject("waits");
        w.put("admissions", waits.admissions());
        w.put("clients", waits.clients());
        w.put("p50_ms", waits.p50().toNanos() / 1e6);
        w.put("p99_ms", waits.p99().toNanos() / 1e6);
        o.set("cost", cost());
        o.put("provider_429", counter("provider_429"));
        o.put("retries", counter("retries"));
        ObjectNode c = o.putObject("counters");
        COUNTERS.forEach(name -> c.put(name, counter(name)));
        // Counters per class (wait_count:<class>, ...) are shown by class, on the tenants route.
        counters.keySet().stream().filter(k -> !COUNTERS.contains(k) && k.indexOf(':') < 0).sorted()
                .forEach(k -> c.put(k, counters.get(k)));
        return o;
    }
}
