package io.llmlimiter.spring;

import io.llmlimiter.client.Accounting;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

import java.util.Locale;

/**
 * Configures an {@link LlmLimiter} from {@code llmlimiter.*}, its meters in the application's
 * {@link MeterRegistry}, an actuator health indicator for its Redis ({@code llmlimiter}), and puts
 * every Spring AI {@link ChatModel} bean under the budget. The beans it makes are thread-safe.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = "llmlimiter", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(LlmLimiterProperties.class)
public class LlmLimiterAutoConfiguration {

    /**
     * @param properties {@code llmlimiter.*}
     * @param meters the application's meter registry, if any
     * @return the limiter, connecting to Redis in the background
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public LlmLimiter llmLimiter(LlmLimiterProperties properties, ObjectProvider<MeterRegistry> meters) {
        LlmLimiter.Builder builder = LlmLimiter.builder().redis(properties.getRedis());
        if (properties.getCommandTimeout() != null) {
            builder.commandTimeout(properties.getCommandTimeout());
        }
        if (properties.getDegradedShare() != null) {
            builder.degradedMode(properties.getDegradedShare());
        }
        MeterRegistry registry = meters.getIfUnique();
        if (registry != null) {
            builder.meterRegistry(registry);
        }
        for (LlmLimiterProperties.TargetProperties t : properties.getTargets()) {
            builder.config(config(t));
        }
        return builder.build();
    }

    static LimitConfig config(LlmLimiterProperties.TargetProperties t) {
        if (t.getName() == null || t.getLimits() == null) {
            throw new IllegalArgumentException("llmlimiter.targets[]: name and limits are required, got name="
                    + t.getName() + " limits=" + t.getLimits());
        }
        LimitConfig.Builder b = LimitConfig.builder(Target.parse(t.getName())).limits(t.getLimits());
        if (t.getMaxConcurrent() != null) {
            b.maxConcurrent(t.getMaxConcurrent());
        }
        if (t.getLeaseTtl() != null) {
            b.leaseTtl(t.getLeaseTtl());
        }
        if (t.getDeliveryMargin() != null) {
            b.deliveryMargin(t.getDeliveryMargin());
        }
        if (t.getAccounting() != null) {
            b.accounting(Accounting.valueOf(t.getAccounting().trim().toUpperCase(Locale.ROOT)));
        }
        return b.build();
    }

    /** The actuator health indicator, when Spring Boot's health support is present. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    @ConditionalOnEnabledHealthIndicator("llmlimiter")
    static class HealthConfiguration {

        /**
         * @param limiter the limiter
         * @return the {@code llmlimiter} health indicator
         */
        @Bean
        @ConditionalOnMissingBean(name = "llmlimiterHealthIndicator")
        LlmLimiterHealthIndicator llmlimiterHealthIndicator(LlmLimiter limiter) {
            return new LlmLimiterHealthIndicator(limiter);
        }
    }

    /** Spring AI: every ChatModel bean wrapped. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(ChatModel.class)
    @ConditionalOnProperty(prefix = "llmlimiter.spring-ai", name = "enabled", matchIfMissing = true)
    static class SpringAi {

        /**
         * @param limiter the limiter, looked up at the first call
         * @param resolvers a user's target resolver, if any
         * @param environment for {@code llmlimiter.*}, read when the first model is wrapped
         * @return the post-processor wrapping every ChatModel bean
         */
        @Bean
        static BeanPostProcessor llmLimiterChatModelWrapper(ObjectProvider<LlmLimiter> limiter,
                                                             ObjectProvider<ChatTargetResolver> resolvers,
                                                             Environment environment) {
            return new ChatModelWrapper(limiter, resolvers, environment);
        }
    }

    /** Wraps ChatModel beans in {@link LimitedChatModel}. */
    static final class ChatModelWrapper implements BeanPostProcessor {

        private final ObjectProvider<LlmLimiter> limiter;
        private final ObjectProvider<ChatTargetResolver> resolvers;
        private final Environment environment;

        ChatModelWrapper(ObjectProvider<LlmLimiter> limiter, ObjectProvider<ChatTargetResolver> resolvers,
                         Environment environment) {
            this.limiter = limiter;
            this.resolvers = resolvers;
            this.environment = environment;
        }

        @Override
        public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
            if (!(bean instanceof ChatModel model) || bean instanceof LimitedChatModel) {
                return bean;
            }
            String provider = environment.getProperty("llmlimiter.spring-ai.provider");
            String tenant = environment.getProperty("llmlimiter.tenant");
            int maxTokens = environment.getProperty("llmlimiter.spring-ai.default-max-tokens", Integer.class, 1024);
            ChatTargetResolver targets = new LazyResolver(resolvers, new DefaultChatTargetResolver(provider, environment::getProperty));
            return new LimitedChatModel(model, limiter::getObject, targets, tenantName(tenant), priority(), maxTokens);
        }

        private static String tenantName(String tenant) {
            try {
                return tenant == null ? null : Tenant.checkName(tenant);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("llmlimiter.tenant: " + e.getMessage());
            }
        }

        private Priority priority() {
            String label = environment.getProperty("llmlimiter.priority");
            try {
                return label == null ? Priority.INTERACTIVE : Priority.fromLabel(label.trim().toLowerCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("llmlimiter.priority: " + e.getMessage());
            }
        }
    }

    /** The user's resolver bean if there is one, else the default; looked up at the first call. */
    private record LazyResolver(ObjectProvider<ChatTargetResolver> resolvers, ChatTargetResolver fallback)
            implements ChatTargetResolver {

        @Override
        public Target resolve(ChatModel model, org.springframework.ai.chat.prompt.Prompt prompt, String modelName,
                              String tenant) {
            return resolvers.getIfUnique(() -> fallback).resolve(model, prompt, modelName, tenant);
        }
    }
}
