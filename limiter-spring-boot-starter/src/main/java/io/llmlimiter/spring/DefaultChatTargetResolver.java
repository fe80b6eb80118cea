package io.llmlimiter.spring;

import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.prompt.Prompt;

import java.net.URI;
import java.util.Locale;
import java.util.function.Function;

/**
 * Names a call's target with {@link Targets}: from the endpoint the model calls (its default
 * options' {@code getBaseUrl()}, else the {@code spring.ai.<provider>.chat.base-url} or
 * {@code spring.ai.<provider>.base-url} property), else from the model's class
 * ({@code OpenAiChatModel} is {@code openai}, {@code AnthropicChatModel} {@code anthropic}), and the
 * model name. {@code llmlimiter.spring-ai.provider} overrides the provider. Thread-safe.
 */
public final class DefaultChatTargetResolver implements ChatTargetResolver {

    /** The model part of the target when neither the prompt nor the model names one. */
    static final String UNNAMED_MODEL = "default";

    private final String provider;
    private final Function<String, String> properties;

    /**
     * @param provider the provider part of every target, or null to tell it from each model
     * @param properties looks up a Spring property (e.g. {@code environment::getProperty})
     */
    public DefaultChatTargetResolver(String provider, Function<String, String> properties) {
        this.provider = provider == null || provider.isBlank() ? null : provider;
        this.properties = properties;
    }

    @Override
    public Target resolve(ChatModel model, Prompt prompt, String modelName, String tenant) {
        String name = modelName == null || modelName.isBlank() ? UNNAMED_MODEL : modelName;
        if (provider != null) {
            return Targets.of(provider, name);
        }
        String byClass = providerOf(model);
        URI endpoint = endpoint(model, byClass);
        return endpoint != null ? Targets.forEndpoint(endpoint, name) : Targets.of(byClass, name);
    }

    private URI endpoint(ChatModel model, String byClass) {
        String url = null;
        Object options = model.getDefaultOptions();
        if (options != null) {
            try {
                Object u = options.getClass().getMethod("getBaseUrl").invoke(options);
                url = u instanceof String s ? s : null;
            } catch (ReflectiveOperationException | RuntimeException e) {
                // Options without a base URL: the properties, else the model's class, name the provider.
            }
        }
        if (isBlank(url) && properties != null) {
            url = properties.apply("spring.ai." + byClass + ".chat.base-url");
            if (isBlank(url)) {
                url = properties.apply("spring.ai." + byClass + ".base-url");
            }
        }
        if (isBlank(url)) {
            return null;
        }
        try {
            URI uri = URI.create(url.trim());
            return uri.getHost() != null ? uri : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }

    private static String providerOf(ChatModel model) {
        String name = model.getClass().getSimpleName();
        if (name.endsWith("ChatModel") && name.length() > "ChatModel".length()) {
            name = name.substring(0, name.length() - "ChatModel".length());
        }
        return name.toLowerCase(Locale.ROOT);
    }
}
