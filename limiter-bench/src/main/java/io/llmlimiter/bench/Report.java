package io.llmlimiter.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Renders a run's results as Markdown tables or as one JSON object. Stateless. */
public final class Report {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> SYSTEMS = List.of("floor", "sliding_log", "limiter", "limiter_10_targets",
            "limiter_1000_targets", "redisson", "redisson_semaphore", "bucket4j");
    private static final List<String> BLOCKING = List.of("limiter", "redisson", "bucket4j");

    private Report() {
    }

    /**
     * @param root the results
     * @return them as indented JSON
     */
    public static String json(ObjectNode root) {
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("results cannot be written as JSON", e);
        }
    }

    /**
     * @param root the results
     * @return them as Markdown: environment, throughput and latency, overload, tenants, scale, memory, targets and
     *     where Redis spends its time in llm-limiter's scripts
     */
    public static String markdown(ObjectNode root) {
        StringBuilder md = new StringBuilder();
        JsonNode env = root.path("env");
        JsonNode set = root.path("settings");
        md.append("## limiter-bench, ").append(env.path("mode").asText()).append(" run, ")
                .append(env.path("started_at").asText()).append("\n\n");
        md.append(String.format(Locale.ROOT, "Redis %s at %s (%s), %d CPUs, %s, %s; Lettuce %s, Redisson %s, "
                        + "Bucket4j %s. One global warm-up of %.1f s per system; then every measurement %.1f s, "
                        + "the systems in interleaved order, %d rounds, the median reported. Load average %s at the "
                        + "start, %s at the end.%n%n",
                env.path("redis_version").asText(), env.path("redis_uri").asText(),
                env.path("redis_started_by_bench").asBoolean() ? "started by the bench" : "given with --redis",
                env.path("cpus").asInt(), env.path("java").asText(), env.path("os").asText(),
                env.path("lettuce").asText(), env.path("redisson").asText(), env.path("bucket4j").asText(),
                set.path("warmup_s").asDouble(), set.path("window_s").asDouble(), set.path("rounds").asInt(1),
                env.path("load_average_start").asText(), env.path("load_average_end").asText()));
        List<String> threads = threadCounts(root);
        String most = threads.get(threads.size() - 1);
        throughput(md, root, threads, most);
        overload(md, root.path("overload"));
        tenants(md, root);
        scale(md, root.path("scale"));
        memory(md, root.path("memory"));
        scriptsTable(md, root.path("scripts"));
        if (root.has("server")) {
            server(md, root.path("server"));
        }
        targets(md, root.path("targets"));
        profile(md, root.path("phases"), most);
        return md.toString();
    }

    private static void throughput(StringBuilder md, ObjectNode root, List<String> threads, String most) {
        md.append("### Throughput (ops/s) and latency, one hot key unless noted, budgets that never refuse\n\n");
        StringBuilder head = new StringBuilder("| system |");
        StringBuilder rule = new StringBuilder("| --- |");
        for (String t : threads) {
            head.append(' ').append(t).append(t.equals("1") ? " thread |" : " threads |");
            rule.append(" ---: |");
        }
        head.append(" p50 us (").append(threads.get(0)).append(") | p99 us | p99.9 us | p99 us (").append(most)
                .append(") | Redis CPU us/op (").append(most).append(") | Redis cmds/op (").append(most).append(") |");
        rule.append(" ---: | ---: | ---: | ---: | ---: | ---: |");
        md.append(head).append('\n').append(rule).append('\n');
        for (String key : SYSTEMS) {
            JsonNode s = root.path(key);
            if (s.isMissingNode()) {
                continue;
            }
            md.append("| ").append(s.path("label").asText());
            for (String t : threads) {
                md.append(" | ").append(fmt(s.path("ops_" + t).asDouble(), 0));
            }
            md.append(" | ").append(fmt(s.path("p50_us").asDouble(), 0))
                    .append(" | ").append(fmt(s.path("p99_us").asDouble(), 0))
                    .append(" | ").append(fmt(s.path("p999_us").asDouble(), 0))
                    .append(" | ").append(fmt(s.path("p99_us_" + most).asDouble(), 0))
                    .append(" | ").append(fmt(s.path("redis_cpu_us_per_op_" + most).asDouble(), 1))
                    .append(" | ").append(fmt(s.path("redis_commands_per_op_" + most).asDouble(), 1))
                    .append(s.path("errors").asLong() > 0 ? " (errors: " + s.path("errors").asLong() + ")" : "")
                    .append(" |\n");
        }
    }

    private static void overload(StringBuilder md, JsonNode o) {
        md.append(String.format(Locale.ROOT, "%n### Overload: %d blocking callers, budget %d/s, %d s measured%n%n"
                        + "Script round trips are EVAL/EVALSHA calls in INFO commandstats (scripts cannot call "
                        + "scripts). All round trips are counted in a second, %.0f s pass through a counting proxy, "
                        + "kept apart because its extra hop changes timing; everything else is measured directly. "
                        + "Bucket4j's compare-and-swap retries swing by an order of magnitude from pass to pass.%n%n", o.path("threads").asInt(), o.path("budget_per_s").asInt(),
                o.path("window_s").asInt(), o.path("round_trip_window_s").asDouble()));
        md.append("| system | admitted/s | admitted / budget | Redis CPU us per admit | of which sys "
                + "| script round trips per admit | all round trips per admit (proxied pass) "
                + "| Redis commands per admit (incl. inside scripts) | wait p50 ms | wait p99 ms |\n");
        md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (String key : BLOCKING) {
            JsonNode s = o.path(key);
            if (s.isMissingNode()) {
                continue;
            }
            md.append("| ").append(s.path("label").asText())
                    .append(" | ").append(fmt(s.path("admitted_per_s").asDouble(), 1))
                    .append(" | ").append(fmt(s.path("admitted_vs_budget").asDouble(), 3))
                    .append(" | ").append(fmt(s.path("redis_cpu_us_per_admit").asDouble(), 1))
                    .append(" | ").append(fmt(s.path("redis_cpu_sys_us_per_admit").asDouble(), 1))
                    .append(" | ").append(fmt(s.path("script_round_trips_per_admit").asDouble(), 2))
                    .append(" | ").append(s.has("round_trips_per_admit")
                            ? fmt(s.path("round_trips_per_admit").asDouble(), 2) : "n/a")
                    .append(" | ").append(fmt(s.path("redis_commands_per_admit").asDouble(), 1))
                    .append(" | ").append(fmt(s.path("wait_p50_us").asDouble() / 1000, 1))
                    .append(" | ").append(fmt(s.path("wait_p99_us").asDouble() / 1000, 1)).append(" |\n");
        }
        JsonNode calls = o.path("limiter").path("counters_per_admit");
        if (!calls.isMissingNode()) {
            md.append("\nllm-limiter's own counters per admitted call over the overload phase:");
            calls.fields().forEachRemaining(e -> md.append(' ').append(e.getKey()).append(' ')
                    .append(fmt(e.getValue().asDouble(), 2)).append(','));
            md.setLength(md.length() - 1);
            md.append(".\n");
        }
    }

    private static void tenants(StringBuilder md, JsonNode root) {
        JsonNode t = root.path("tenants");
        if (t.isMissingNode() || t.isEmpty()) {
            return;
        }
        int n = t.path("tenants").asInt();
        JsonNode weights = t.path("weights");
        md.append(String.format(Locale.ROOT, "%n### Tenants: %d blocking callers on one fairly shared target, budget %d/s, "
                        + "%d s measured%n%n"
                        + "The target shares its budget among %d tenants of weights %s to %s (`fair_share`). The same "
                        + "callers on the same config, measured twice: all of one tenant, then spread over the %d tenants, "
                        + "every tenant backlogged. The overload phase's llm-limiter row (a target without fair share) "
                        + "is repeated for context.%n%n", t.path("threads").asInt(), t.path("budget_per_s").asInt(),
                t.path("window_s").asInt(), n, weights.path(0).asText(), weights.path(weights.size() - 1).asText(), n));
        md.append("| callers | admitted/s | admitted / budget | Redis CPU us per admit | Redis commands per admit "
                + "| script calls per admit | wait p50 ms | wait p99 ms |\n"
                + "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        tenantsRow(md, "all of one tenant, fair share", t.path("tenants_1"));
        tenantsRow(md, "spread over " + n + " tenants, fair share", t.path("tenants_" + n));
        tenantsRow(md, "overload phase: no fair share, no tenant", root.path("overload").path("limiter"));
        if (t.has("cpu_per_admit_" + n + "_vs_1")) {
            md.append(String.format(Locale.ROOT, "%nRedis CPU per admitted call, %d tenants / 1 tenant: %.3f.%n", n,
                    t.path("cpu_per_admit_" + n + "_vs_1").asDouble()));
        }
        JsonNode shares = t.path("tenants_" + n).path("shares");
        if (shares.isEmpty()) {
            return;
        }
        md.append(String.format(Locale.ROOT, "%nEach tenant's admissions in the window (`LimiterAdmin.tenants`, read at "
                + "both edges) against its weight, with the callers spread over %d tenants:%n%n", n));
        md.append("| tenant | weight | weight share | admitted | admitted share | share / weight share |\n"
                + "| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for (JsonNode r : shares) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %,d | %.3f | %.2f |%n", r.path("tenant").asText(),
                    r.path("weight").asText(), r.path("weight_share").asDouble(), r.path("admitted").asLong(),
                    r.path("admitted_share").asDouble(), r.path("share_vs_weight").asDouble()));
        }
    }

    private static void tenantsRow(StringBuilder md, String label, JsonNode r) {
        if (r.isMissingNode() || !r.has("admitted_per_s")) {
            return;
        }
        md.append("| ").append(label)
                .append(" | ").append(fmt(r.path("admitted_per_s").asDouble(), 1))
                .append(" | ").append(fmt(r.path("admitted_vs_budget").asDouble(), 3))
                .append(" | ").append(fmt(r.path("redis_cpu_us_per_admit").asDouble(), 1))
                .append(" | ").append(fmt(r.path("redis_commands_per_admit").asDouble(), 2))
                .append(" | ").append(fmt(r.path("script_round_trips_per_admit").asDouble(), 2))
                .append(" | ").append(fmt(r.path("wait_p50_us").asDouble() / 1000, 1))
                .append(" | ").append(fmt(r.path("wait_p99_us").asDouble() / 1000, 1))
                .append(r.path("errors").asLong() > 0 ? " (errors: " + r.path("errors").asLong() + ")" : "")
                .append(" |\n");
    }

    private static void scale(StringBuilder md, JsonNode s) {
        if (s.isMissingNode() || s.isEmpty()) {
            return;
        }
        md.append(String.format(Locale.ROOT, "%n### Scale: waiting callers over %d JVMs, one target, budget %d/s%n%n"
                        + "Each JVM runs its share of the callers as `acquireAsync` chains (no thread each) that ask "
                        + "again as soon as their call completes.%n%n", s.path("jvms").asInt(),
                s.path("budget_per_s").asInt()));
        md.append("| callers | admitted/s | Redis CPU us per admit | Redis commands per admit | script calls per admit |\n"
                + "| ---: | ---: | ---: | ---: | ---: |\n");
        for (String k : List.of("callers_" + s.path("small").asInt(), "callers_" + s.path("large").asInt())) {
            JsonNode r = s.path(k);
            if (r.isMissingNode()) {
                continue;
            }
            md.append(String.format(Locale.ROOT, "| %,d | %.1f | %.1f | %.2f | %.2f |%n", r.path("callers").asInt(),
                    r.path("admitted_per_s").asDouble(), r.path("redis_cpu_us_per_admit").asDouble(),
                    r.path("redis_commands_per_admit").asDouble(), r.path("script_calls_per_admit").asDouble()));
        }
    }

    private static void memory(StringBuilder md, JsonNode m) {
        md.append(String.format(Locale.ROOT, "%n### Memory: %,d requests in window%n%n",
                m.path("limiter").path("requests").asInt()));
        md.append("| system | keys | bytes | bytes per in-window request |\n| --- | ---: | ---: | ---: |\n");
        memoryRow(md, "llm-limiter (sliding log + leases + state)", m.path("limiter"), "bytes_per_request");
        memoryRow(md, "Redisson RRateLimiter", m.path("redisson"), "bytes_per_permit");
        memoryRow(md, "Bucket4j (one token bucket, no per-request state)", m.path("bucket4j"), "bytes_per_request");
    }

    /**
     * @param root results of a run of one phase
     * @return that phase's table as Markdown
     */
    public static String only(ObjectNode root) {
        StringBuilder md = new StringBuilder();
        JsonNode env = root.path("env");
        md.append("## limiter-bench, one phase, ").append(env.path("started_at").asText()).append("\n\n")
                .append("Redis ").append(env.path("redis_version").asText()).append(", load average ")
                .append(env.path("load_average_start").asText()).append(" at the start.\n");
        if (root.has("memory")) {
            memory(md, root.path("memory"));
        }
        if (root.has("server")) {
            server(md, root.path("server"));
        }
        tenants(md, root);
        scale(md, root.path("scale"));
        scriptsTable(md, root.path("scripts"));
        return md.toString();
    }

    private static void server(StringBuilder md, JsonNode s) {
        md.append(String.format(Locale.ROOT, "%n### Admin server reads at %,d targets (ms per request, %d requests each)%n%n",
                s.path("targets").asInt(), s.path("requests").asInt()))
                .append("| route | p50, reading stale | max, reading stale | p50, reading cached | max, reading cached "
                        + "| body bytes |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for (String route : new String[] {"metrics", "stats"}) {
            md.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f | %,d |%n",
                    route.equals("metrics") ? "/metrics" : "/api/v1/stats",
                    s.path(route + "_stale").path("p50_ms").asDouble(), s.path(route + "_stale").path("max_ms").asDouble(),
                    s.path(route + "_cached").path("p50_ms").asDouble(), s.path(route + "_cached").path("max_ms").asDouble(),
                    s.path(route + "_bytes").asLong()));
        }
        md.append(String.format(Locale.ROOT, "%nOne batched read of every target (config, usage, counters, waits): "
                + "mean %.1f ms, max %.1f ms over %d reads.%n", s.path("snapshot_read_mean_ms").asDouble(),
                s.path("snapshot_read_max_ms").asDouble(), s.path("snapshot_reads").asLong()));
    }

    private static void scriptsTable(StringBuilder md, JsonNode s) {
        if (s.isMissingNode() || s.isEmpty()) {
            return;
        }
        md.append("\n### Redis time per script call (us, INFO commandstats) by in-window entries\n\n")
                .append("| entries | acquire, admitted | acquire, refused by a token window | acquire, refused by a request window "
                        + "| complete (corrects the entry) | usage |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n");
        s.fields().forEachRemaining(e -> {
            JsonNode r = e.getValue();
            md.append(String.format(Locale.ROOT, "| %,d | %.1f | %.1f | %.1f | %.1f | %.1f |%n", r.path("entries").asInt(),
                    r.path("acquire_admit_us").asDouble(), r.path("acquire_refuse_tokens_us").asDouble(),
                    r.path("acquire_refuse_requests_us").asDouble(), r.path("complete_us").asDouble(),
                    r.path("usage_us").asDouble()));
        });
    }

    private static void targets(StringBuilder md, JsonNode targets) {
        md.append("\n### Targets\n\n| target | measured | goal | met |\n| --- | ---: | --- | --- |\n");
        for (JsonNode t : targets) {
            md.append("| ").append(t.path("target").asText()).append(" | ").append(fmt(t.path("measured").asDouble(), 3))
                    .append(" | ").append(t.path("goal").asText()).append(" | ")
                    .append(t.path("met").asBoolean() ? "yes" : "**no**").append(" |\n");
        }
    }

    private static void profile(StringBuilder md, JsonNode phases, String most) {
        md.append("\n### Where Redis spends its time in llm-limiter, per admitted call (INFO commandstats)\n\n");
        md.append("evalsha's time includes the commands its scripts run; the rest of Redis's CPU is the event loop, "
                + "network system calls and Lua itself.\n");
        for (JsonNode p : phases) {
            if (!p.path("system").asText().equals("limiter")) {
                continue;
            }
            boolean overload = p.path("kind").asText().equals("overload");
            boolean busiest = p.path("kind").asText().equals("throughput") && p.path("threads").asText().equals(most);
            if (overload || busiest) {
                md.append(String.format(Locale.ROOT, "%n%s, %d threads: %.1f us of Redis CPU per admitted call%n%n",
                        overload ? "Overload" : "Throughput", p.path("threads").asInt(),
                        p.path("redis_cpu_us_per_op").asDouble()));
                md.append("| command | calls | us |\n| --- | ---: | ---: |\n");
                for (JsonNode c : p.path("busiest_commands")) {
                    md.append("| ").append(c.path("command").asText()).append(" | ")
                            .append(fmt(c.path("calls_per_op").asDouble(), 2)).append(" | ")
                            .append(fmt(c.path("us_per_op").asDouble(), 2)).append(" |\n");
                }
            }
        }
    }

    private static void memoryRow(StringBuilder md, String label, JsonNode s, String per) {
        if (!s.isMissingNode()) {
            md.append("| ").append(label).append(" | ").append(s.path("keys").size()).append(" | ")
                    .append(fmt(s.path("bytes").asDouble(), 0)).append(" | ")
                    .append(fmt(s.path(per).asDouble(), 1)).append(" |\n");
        }
    }

    private static List<String> threadCounts(ObjectNode root) {
        List<String> out = new ArrayList<>();
        root.path("floor").fieldNames().forEachRemaining(f -> {
            if (f.matches("ops_\\d+")) {
                out.add(f.substring(4));
            }
        });
        return out;
    }

    private static String fmt(double v, int decimals) {
        return String.format(Locale.ROOT, "%,." + decimals + "f", v);
    }
}
