package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.Durations;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.Target;
import io.llmlimiter.server.ConfigDocument;
import io.llmlimiter.server.ProbeRecord;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a probe observed (each limit with its source, the concurrency cap, the calls it spent) and
 * the config it suggests: every measured limit at {@code margin} of its amount over the same window,
 * the concurrency cap likewise, with a {@link ProbeRecord} marking it tested. Lower bounds are reported, never suggested.
 * This class is immutable and thread-safe.
 */
public final class ProbeReport {

    private final String endpoint;
    private final Map<Resource, Finding> limits;
    private final Integer concurrency;
    private final boolean concurrencyLowerBound;
    private final List<ProbeCall> calls;
    private final List<String> notes;

    /**
     * @param endpoint the URL probed
     * @param limits the limits observed
     * @param concurrency the concurrency cap observed, or null
     * @param concurrencyLowerBound whether no cap was met, only this many calls at once
     * @param calls every call made
     * @param notes what the user should know about the measurements
     */
    public ProbeReport(String endpoint, Map<Resource, Finding> limits, Integer concurrency,
                       boolean concurrencyLowerBound, List<ProbeCall> calls, List<String> notes) {
        this.endpoint = endpoint;
        this.limits = limits.isEmpty() ? Map.of() : new EnumMap<>(limits);
        this.concurrency = concurrency;
        this.concurrencyLowerBound = concurrencyLowerBound;
        this.calls = List.copyOf(calls);
        this.notes = List.copyOf(notes);
    }

    /** @return the limits observed, by resource */
    public Map<Resource, Finding> limits() {
        return limits;
    }

    /** @return the concurrency cap observed, or null when none was met */
    public Integer concurrency() {
        return concurrencyLowerBound ? null : concurrency;
    }

    /** @return calls spent */
    public int callsUsed() {
        return calls.size();
    }

    /** @return notes on the measurements */
    public List<String> notes() {
        return notes;
    }

    /**
     * @param target the target to configure
     * @param margin the share of each observed limit to allow, above 0 and at most 1
     * @param date the probe's date, e.g. {@code 2026-11-26}
     * @return the suggested config and its probe record, or null when nothing was found to configure
     */
    public ConfigDocument suggest(Target target, double margin, String date) {
        LimitConfig.Builder b = LimitConfig.builder(target);
        boolean any = false;
        for (Map.Entry<Resource, Finding> e : limits.entrySet()) {
            if (e.getValue().lowerBound()) {
                continue;
            }
            long amount = Math.max(1, (long) Math.floor(e.getValue().amount() * margin));
            b.limit(new Limit(e.getKey(), amount, e.getValue().window()));
            any = true;
        }
        Integer cap = concurrency();
        if (cap != null) {
            b.maxConcurrent(Math.max(1, (int) Math.floor(cap * margin)));
            any = true;
        }
        if (!any) {
            return null;
        }
        return new ConfigDocument(b.build(), new ProbeRecord(true, date, testNotes(margin)));
    }

    private String testNotes(double margin) {
        List<String> parts = new ArrayList<>();
        limits.forEach((r, f) -> parts.add(r.label() + " " + (f.lowerBound() ? ">=" : "") + f.amount() + "/"
                + Durations.format(f.window()) + " (" + f.source() + ")"));
        if (concurrency() != null) {
            parts.add("concurrency " + concurrency + " (429s)");
        }
        String text = "llm-limiter probe of " + endpoint + ": " + String.join(", ", parts) + "; " + calls.size()
                + " calls; suggested at " + Math.round(margin * 100) + "%";
        return text.length() > 2000 ? text.substring(0, 2000) : text;
    }

    /**
     * @param suggested the suggested config, or null
     * @param applied what applying it answered, or null when not applied
     * @return the report as JSON
     */
    public ObjectNode toJson(ConfigDocument suggested, String applied) {
        ObjectNode o = CliSupport.JSON.createObjectNode();
        o.put("endpoint", endpoint);
        o.put("calls_used", calls.size());
        o.put("admitted", calls.stream().filter(ProbeCall::admitted).count());
        o.put("provider_429", calls.stream().filter(c -> c.status() == 429).count());
        ObjectNode observed = o.putObject("observed");
        limits.forEach((r, f) -> observed.putObject(r.label()).put("amount", f.amount())
                .put("window", Durations.format(f.window())).put("source", f.source())
                .put("lower_bound", f.lowerBound()));
        ObjectNode c = observed.putObject("concurrency");
        if (concurrency == null) {
            c.putNull("max");
        } else {
            c.put("max", concurrency).put("source", "429s").put("lower_bound", concurrencyLowerBound);
        }
        if (suggested == null) {
            o.putNull("suggested");
        } else {
            o.set("suggested", suggested.tree());
        }
        if (applied != null) {
            o.put("applied", applied);
        }
        ArrayNode n = o.putArray("notes");
        notes.forEach(n::add);
        return o;
    }

    /**
     * Prints the report for people.
     *
     * @param out where to print
     * @param suggested the suggested config, or null
     * @param margin the margin it was made with
     */
    public void print(PrintWriter out, ConfigDocument suggested, double margin) {
        out.println("observed limits:");
        limits.forEach((r, f) -> out.printf(Locale.ROOT, "  %-13s %3s %8d per %-7s from %s%n", r.label(),
                f.lowerBound() ? ">=" : "", f.amount(), Durations.format(f.window()), f.source()));
        if (concurrency == null) {
            out.printf(Locale.ROOT, "  %-13s not measured%n", "concurrency");
        } else {
            out.printf(Locale.ROOT, "  %-13s %3s %8d at once      from %s%n", "concurrency",
                    concurrencyLowerBound ? ">=" : "", concurrency,
                    concurrencyLowerBound ? "calls that all succeeded" : "429s");
        }
        long refused = calls.stream().filter(c -> c.status() == 429).count();
        out.printf(Locale.ROOT, "calls used: %d (%d admitted, %d answered 429)%n", calls.size(), calls.size() - refused
                - calls.stream().filter(c -> c.kind() == ProbeCall.Kind.ERROR).count(), refused);
        notes.forEach(n -> out.println("note: " + n));
        if (suggested == null) {
            out.println("no limit found, so no config is suggested; raise --max-calls");
            return;
        }
        out.printf(Locale.ROOT, "suggested config (%d%% of each limit): %s, %s%n", Math.round(margin * 100),
                Limit.formatAll(suggested.config().limits()), suggested.config().maxConcurrent() == 0
                        ? "no concurrency cap" : "max_concurrent=" + suggested.config().maxConcurrent());
        out.println("  " + suggested.json());
    }
}
