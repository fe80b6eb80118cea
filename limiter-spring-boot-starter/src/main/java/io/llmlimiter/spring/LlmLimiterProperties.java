package io.llmlimiter.spring;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code llmlimiter.*} properties.
 *
 * <pre>
 * llmlimiter:
 *   redis: redis://localhost:6379
 *   tenant: search           # calls are made for this tenant ...
 *   priority: batch          # ... in this priority class
 *   targets:
 *     - name: openai/gpt-4o-mini
 *       limits: requests=500/60s,tokens=200000/60s,usd=50/1d
 *   spring-ai:
 *     enabled: true          # every ChatModel bean under the budget
 * </pre>
 *
 * <p>A mutable bean bound once at startup; not thread-safe while being bound.
 */
@ConfigurationProperties(prefix = "llmlimiter")
public class LlmLimiterProperties {

    /** Whether to configure a limiter at all. */
    private boolean enabled = true;
    /** The Redis URI: redis://, rediss:// for TLS, redis-sentinel:// or a cluster node. */
    private String redis = "redis://localhost:6379";
    /** How long one Redis command may take before it fails. */
    private Duration commandTimeout;
    /** Share of each limit one client may use alone while Redis is unreachable (unset: fail closed). */
    private Double degradedShare;
    /**
     * The tenant this application calls for: every model call is acquired for it (on a target that
     * shares fairly, its share applies), and it is handed to a {@link ChatTargetResolver}. Unset:
     * the {@code default} tenant.
     */
    private String tenant;
    /** The priority class of this application's model calls: interactive (unset), batch or background. */
    private String priority;
    /** The targets' limits, written to Redis when Redis has none (and again if Redis loses them). */
    private List<TargetProperties> targets = new ArrayList<>();
    /** Spring AI support. */
    private final SpringAi springAi = new SpringAi();

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public String getRedis() {
        return redis;
    }

    public void setRedis(String redis) {
        this.redis = redis;
    }

    public Duration getCommandTimeout() {
        return commandTimeout;
    }

    public void setCommandTimeout(Duration commandTimeout) {
        this.commandTimeout = commandTimeout;
    }

    public Double getDegradedShare() {
        return degradedShare;
    }

    public void setDegradedShare(Double degradedShare) {
        this.degradedShare = degradedShare;
    }

    public String getTenant() {
        return tenant;
    }

    public void setTenant(String tenant) {
        this.tenant = tenant;
    }

    public String getPriority() {
        return priority;
    }

    public void setPriority(String priority) {
        this.priority = priority;
    }

    public List<TargetProperties> getTargets() {
        return targets;
    }

    public void setTargets(List<TargetProperties> targets) {
        this.targets = targets;
    }

    public SpringAi getSpringAi() {
        return springAi;
    }

    /** One target's limits. */
    public static class TargetProperties {

        /** The target, {@code provider/model}, e.g. {@code openai/gpt-4o-mini}. */
        private String name;
        /** The provider's published limits, e.g. {@code requests=500/60s,tokens=200000/60s}. */
        private String limits;
        /** Calls in flight at once, 0 for no cap. */
        private Integer maxConcurrent;
        /** How long a crashed worker's permit is held. */
        private Duration leaseTtl;
        /** How long after admission the provider may count a call. */
        private Duration deliveryMargin;
        /** {@code keep} (the admission charge stands) or {@code actual} (the provider refunds unused tokens). */
        private String accounting;

        public String getName() {
            return name;
        }

        public void setName(String name) {
            this.name = name;
        }

        public String getLimits() {
            return limits;
        }

        public void setLimits(String limits) {
            this.limits = limits;
        }

        public Integer getMaxConcurrent() {
            return maxConcurrent;
        }

        public void setMaxConcurrent(Integer maxConcurrent) {
            this.maxConcurrent = maxConcurrent;
        }

        public Duration getLeaseTtl() {
            return leaseTtl;
        }

        public void setLeaseTtl(Duration leaseTtl) {
            this.leaseTtl = leaseTtl;
        }

        public Duration getDeliveryMargin() {
            return deliveryMargin;
        }

        public void setDeliveryMargin(Duration deliveryMargin) {
            this.deliveryMargin = deliveryMargin;
        }

        public String getAccounting() {
            return accounting;
        }

        public void setAccounting(String accounting) {
            this.accounting = accounting;
        }
    }

    /** {@code llmlimiter.spring-ai.*}. */
    public static class SpringAi {

        /** Whether every Spring AI ChatModel bean is put under the budget. */
        private boolean enabled = true;
        /**
         * Whether Spring AI's own retries are turned off (the OpenAI client's
         * {@code spring.ai.openai.max-retries}, the {@code spring.ai.retry} template) while the
         * limiter owns the retry loop.
         */
        private boolean disableModelRetries = true;
        /** The provider part of the targets, when the model's endpoint does not tell it. */
        private String provider;
        /** Output tokens reserved for a prompt that names no max tokens, nor its model. */
        private int defaultMaxTokens = 1024;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public boolean isDisableModelRetries() {
            return disableModelRetries;
        }

        public void setDisableModelRetries(boolean disableModelRetries) {
            this.disableModelRetries = disableModelRetries;
        }

        public String getProvider() {
            return provider;
        }

        public void setProvider(String provider) {
            this.provider = provider;
        }

        public int getDefaultMaxTokens() {
            return defaultMaxTokens;
        }

        public void setDefaultMaxTokens(int defaultMaxTokens) {
            this.defaultMaxTokens = defaultMaxTokens;
        }
    }
}
