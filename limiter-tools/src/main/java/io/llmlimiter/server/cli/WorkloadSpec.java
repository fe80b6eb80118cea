package io.llmlimiter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.client.internal.ConfigJson;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What one process of a workload does: which endpoint and target, how many threads, the size of
 * each call, and whether calls go through the limiter or naively (fixed concurrency, plain retries
 * at a fixed backoff that ignores {@code Retry-After}, like the seed's original batch job). It
 * travels to spawned worker JVMs as JSON; the API key does not, each worker reads it from the
 * environment variable named here. This record is immutable and thread-safe.
 *
 * @param baseUrl the provider's base URL
 * @param target the limiter target, {@code provider/model}; the model is sent in the body
 * @param threads threads calling at once in each process
 * @param promptTokens prompt size in tokens
 * @param maxTokens each call's {@code max_tokens}
 * @param naive whether to bypass the limiter
 * @param naiveRetries retries of a naive call after a 429, 5xx or network error
 * @param naiveBackoff the fixed wait before each naive retry
 * @param redisUri the limiter's Redis, or null when naive
 * @param apiKeyEnv the environment variable holding the API key, or null for none
 * @param timeout how long one HTTP call may take
 * @param config the target's config the workers are built with (they re-create it if Redis loses
 *     it), or null
 * @param tenant the tenant and priority class every call is made for ({@link Tenant#DEFAULT} when null)
 */
public record WorkloadSpec(String baseUrl, Target target, int threads, int promptTokens, int maxTokens, boolean naive,
                           int naiveRetries, Duration naiveBackoff, String redisUri, String apiKeyEnv,
                           Duration timeout, LimitConfig config, Tenant tenant) {

    /** A spec whose calls are made for the default tenant. */
    public WorkloadSpec(String baseUrl, Target target, int threads, int promptTokens, int maxTokens, boolean naive,
                        int naiveRetries, Duration naiveBackoff, String redisUri, String apiKeyEnv,
                        Duration timeout, LimitConfig config) {
        this(baseUrl, target, threads, promptTokens, maxTokens, naive, naiveRetries, naiveBackoff, redisUri,
                apiKeyEnv, timeout, config, Tenant.DEFAULT);
    }

    /** A spec whose workers are given no config. */
    public WorkloadSpec(String baseUrl, Target target, int threads, int promptTokens, int maxTokens, boolean naive,
                        int naiveRetries, Duration naiveBackoff, String redisUri, String apiKeyEnv,
                        Duration timeout) {
        this(baseUrl, target, threads, promptTokens, maxTokens, naive, naiveRetries, naiveBackoff, redisUri,
                apiKeyEnv, timeout, null);
    }

    /**
     * @param c the target's config for the workers, or null
     * @return this spec with it
     */
    public WorkloadSpec withConfig(LimitConfig c) {
        return new WorkloadSpec(baseUrl, target, threads, promptTokens, maxTokens, naive, naiveRetries, naiveBackoff,
                redisUri, apiKeyEnv, timeout, c, tenant);
    }

    /**
     * @param t the tenant and priority class of every call
     * @return this spec with it
     */
    public WorkloadSpec withTenant(Tenant t) {
        return new WorkloadSpec(baseUrl, target, threads, promptTokens, maxTokens, naive, naiveRetries, naiveBackoff,
                redisUri, apiKeyEnv, timeout, config, t);
    }

    /** Validates what the command line cannot express wrongly by itself. */
    public WorkloadSpec {
        Objects.requireNonNull(baseUrl, "baseUrl");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(naiveBackoff, "naiveBackoff");
        Objects.requireNonNull(timeout, "timeout");
        tenant = tenant == null ? Tenant.DEFAULT : tenant;
        if (!naive && redisUri == null) {
            throw new IllegalArgumentException("redisUri is required unless naive");
        }
        if (config != null && !config.target().equals(target)) {
            throw new IllegalArgumentException("config is for " + config.target() + ", not " + target);
        }
    }

    /** @return {@code naive} or {@code limiter} */
    public String mode() {
        return naive ? "naive" : "limiter";
    }

    /** @return the tokens a provider charges a call when it arrives: prompt plus {@code max_tokens} */
    public long tokensPerCall() {
        return (long) promptTokens + maxTokens;
    }

    /**
     * The theoretical floor of {@code calls} of these calls under a provider's limits: see {@link Floor}.
     *
     * @param limits the provider's limits
     * @param maxConcurrent the provider's concurrency cap, 0 for none
     * @param calls calls in the whole run
     * @param latency the fastest a call can take, zero when unknown
     * @return seconds, or null when nothing bounds the run
     */
    public Double floorSeconds(List<Limit> limits, int maxConcurrent, long calls, Duration latency) {
        return Floor.seconds(limits, maxConcurrent, calls, promptTokens, maxTokens, latency);
    }

    /** @return this spec as JSON, for a worker's command line */
    public ObjectNode toJson() {
        ObjectNode o = CliSupport.JSON.createObjectNode();
        o.put("base_url", baseUrl);
        o.put("target", target.toString());
        o.put("threads", threads);
        o.put("prompt_tokens", promptTokens);
        o.put("max_tokens", maxTokens);
        o.put("naive", naive);
        o.put("naive_retries", naiveRetries);
        o.put("naive_backoff_ms", naiveBackoff.toMillis());
        o.put("redis", redisUri);
        o.put("api_key_env", apiKeyEnv);
        o.put("timeout_ms", timeout.toMillis());
        if (config != null) {
            o.set("config", ConfigJson.tree(config));
        }
        o.put("tenant", tenant.name());
        o.put("priority", tenant.priority().label());
        return o;
    }

    /**
     * @param json a spec as {@link #toJson()} writes it
     * @return the spec
     */
    public static WorkloadSpec fromJson(JsonNode json) {
        return new WorkloadSpec(json.path("base_url").asText(), Target.parse(json.path("target").asText()),
                json.path("threads").asInt(), json.path("prompt_tokens").asInt(), json.path("max_tokens").asInt(),
                json.path("naive").asBoolean(), json.path("naive_retries").asInt(),
                Duration.ofMillis(json.path("naive_backoff_ms").asLong()), text(json, "redis"),
                text(json, "api_key_env"), Duration.ofMillis(json.path("timeout_ms").asLong()),
                json.hasNonNull("config") ? ConfigJson.parse(json.get("config"), null) : null,
                Tenant.of(json.path("tenant").asText(Tenant.DEFAULT_NAME),
                        Priority.fromLabel(json.path("priority").asText(Tenant.DEFAULT.priority().label()))));
    }

    private static String text(JsonNode json, String field) {
        JsonNode v = json.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
