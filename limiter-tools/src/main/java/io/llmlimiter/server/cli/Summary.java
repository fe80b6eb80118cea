package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The outcome of one workload run: what was asked, what happened, how long it took, and how that
 * compares with the fastest the provider's limits allow. The JSON form ({@link #toJson()}) is the
 * machine-readable summary of {@code workload --json} and of each row of the demo's comparison.
 * This record is immutable and thread-safe.
 *
 * @param mode {@code limiter} or {@code naive}
 * @param target the target, {@code provider/model}
 * @param processes worker processes
 * @param threads threads per process
 * @param requests calls asked for
 * @param succeeded calls that succeeded
 * @param failed calls that failed for good
 * @param provider429 429 answers from the provider
 * @param retries attempts after a call's first
 * @param wallSeconds wall time of the whole run
 * @param theoreticalMinSeconds the theoretical floor of {@code requests} calls ({@link Floor}), or null when no
 *     limit is known
 * @param errors distinct error messages of failed calls with their counts
 * @param costMicros the cost of the calls that succeeded, in micro-dollars, priced from the usage
 *     they reported (the target's config prices, else the price table; 0 for an unknown model)
 */
public record Summary(String mode, String target, int processes, int threads, long requests, long succeeded,
                      long failed, long provider429, long retries, double wallSeconds, Double theoreticalMinSeconds,
                      Map<String, Long> errors, long costMicros) {

    /** A summary without cost. */
    public Summary(String mode, String target, int processes, int threads, long requests, long succeeded, long failed,
                   long provider429, long retries, double wallSeconds, Double theoreticalMinSeconds,
                   Map<String, Long> errors) {
        this(mode, target, processes, threads, requests, succeeded, failed, provider429, retries, wallSeconds,
                theoreticalMinSeconds, errors, 0);
    }

    /** Copies the errors. */
    public Summary {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(target, "target");
        errors = Map.copyOf(errors);
    }

    /**
     * @param mode {@code limiter} or {@code naive}
     * @param target the target
     * @param processes worker processes
     * @param threads threads per process
     * @param requests calls asked for
     * @param tally the final counters
     * @param errors error messages with counts
     * @param wallSeconds the wall time
     * @param theoreticalMinSeconds the fastest the limits allow, or null
     * @return the summary
     */
    public static Summary of(String mode, String target, int processes, int threads, long requests,
                             Tally.Snapshot tally, Map<String, Long> errors, double wallSeconds,
                             Double theoreticalMinSeconds) {
        return of(mode, target, processes, threads, requests, tally, errors, wallSeconds, theoreticalMinSeconds, 0);
    }

    /**
     * {@link #of(String, String, int, int, long, Tally.Snapshot, Map, double, Double)} with the run's cost.
     *
     * @param costMicros the cost of the calls that succeeded, in micro-dollars
     * @return the summary
     */
    public static Summary of(String mode, String target, int processes, int threads, long requests,
                             Tally.Snapshot tally, Map<String, Long> errors, double wallSeconds,
                             Double theoreticalMinSeconds, long costMicros) {
        return new Summary(mode, target, processes, threads, requests, tally.succeeded(), tally.failed(),
                tally.provider429(), tally.retries(), wallSeconds, theoreticalMinSeconds, errors, costMicros);
    }

    /**
     * Adds up the parts of a run made by several processes.
     *
     * @param parts each process's summary
     * @param processes how many processes ran
     * @param wallSeconds the wall time of the whole run
     * @param theoreticalMinSeconds the fastest the limits allow for the whole run, or null
     * @return the combined summary
     */
    public static Summary combine(List<Summary> parts, int processes, double wallSeconds,
                                  Double theoreticalMinSeconds) {
        Summary first = parts.get(0);
        long requests = 0;
        Tally.Snapshot sum = Tally.Snapshot.ZERO;
        Map<String, Long> errors = new LinkedHashMap<>();
        long cost = 0;
        for (Summary p : parts) {
            requests += p.requests;
            cost += p.costMicros;
            sum = sum.plus(new Tally.Snapshot(p.succeeded, p.failed, p.provider429, p.retries));
            p.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
        }
        return of(first.mode, first.target, processes, first.threads, requests, sum, errors, wallSeconds,
                theoreticalMinSeconds, cost);
    }

    /** @return wall time as a multiple of the theoretical floor, or NaN when that is unknown */
    public double ratio() {
        return theoreticalMinSeconds == null || theoreticalMinSeconds <= 0 ? Double.NaN
                : wallSeconds / theoreticalMinSeconds;
    }

    /** @return wall time per successful call, or NaN when none succeeded */
    public double secondsPerSuccess() {
        return succeeded == 0 ? Double.NaN : wallSeconds / succeeded;
    }

    /** @return the floor's time per call asked for, or NaN when the floor is unknown */
    public double floorSecondsPerCall() {
        return theoreticalMinSeconds == null || theoreticalMinSeconds <= 0 || requests == 0 ? Double.NaN
                : theoreticalMinSeconds / requests;
    }

    /**
     * The run's score: time per successful call as a multiple of the floor's time per call. A run
     * that loses calls cannot look faster than the floor by failing: its lost calls raise its time
     * per success.
     *
     * @return the multiple, or NaN when no call succeeded or the floor is unknown
     */
    public double perSuccessRatio() {
        return secondsPerSuccess() / floorSecondsPerCall();
    }

    /** @return the share of calls that succeeded, 0 to 1 */
    public double successRate() {
        return requests == 0 ? 1 : (double) succeeded / requests;
    }

    /** @return the summary as JSON, with snake_case field names */
    public ObjectNode toJson() {
        ObjectNode o = CliSupport.JSON.createObjectNode();
        o.put("mode", mode);
        o.put("target", target);
        o.put("processes", processes);
        o.put("threads", threads);
        o.put("requests", requests);
        o.put("succeeded", succeeded);
        o.put("failed", failed);
        o.put("provider_429", provider429);
        o.put("retries", retries);
        o.put("wall_seconds", CliSupport.round3(wallSeconds));
        if (theoreticalMinSeconds == null) {
            o.putNull("theoretical_min_seconds");
            o.putNull("wall_vs_min");
        } else {
            o.put("theoretical_min_seconds", CliSupport.round3(theoreticalMinSeconds));
            o.put("wall_vs_min", CliSupport.round3(ratio()));
        }
        putNumber(o, "seconds_per_success", secondsPerSuccess());
        putNumber(o, "floor_seconds_per_call", floorSecondsPerCall());
        putNumber(o, "per_success_vs_floor", perSuccessRatio());
        // Exact dollars: whole micro-dollars summed, never floats.
        o.put("cost_usd", java.math.BigDecimal.valueOf(costMicros, 6));
        ObjectNode e = o.putObject("errors");
        errors.forEach(e::put);
        return o;
    }

    private static void putNumber(ObjectNode o, String field, double value) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            o.putNull(field);
        } else {
            o.put(field, Math.round(value * 1e6) / 1e6);
        }
    }

    /**
     * @param json a summary as {@link #toJson()} writes it
     * @return the summary
     */
    public static Summary fromJson(JsonNode json) {
        Map<String, Long> errors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = json.path("errors").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            errors.put(e.getKey(), e.getValue().asLong());
        }
        JsonNode min = json.path("theoretical_min_seconds");
        return new Summary(json.path("mode").asText(), json.path("target").asText(), json.path("processes").asInt(),
                json.path("threads").asInt(), json.path("requests").asLong(), json.path("succeeded").asLong(),
                json.path("failed").asLong(), json.path("provider_429").asLong(), json.path("retries").asLong(),
                json.path("wall_seconds").asDouble(), min.isNumber() ? min.asDouble() : null, errors,
                json.path("cost_usd").decimalValue().movePointRight(6).longValue());
    }
}
