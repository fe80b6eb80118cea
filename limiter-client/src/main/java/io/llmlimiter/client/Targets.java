package io.llmlimiter.client;

import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Names targets the same way in every integration (LangChain4j, Spring AI, the OpenAI and
 * Anthropic SDKs, OkHttp): the provider from the endpoint a client talks to, the model as the
 * provider names it. {@code https://api.openai.com/v1} and {@code gpt-4o} is {@code openai/gpt-4o};
 * {@code https://openrouter.ai/api/v1} and {@code openai/gpt-4o} is {@code openrouter/openai/gpt-4o}.
 * An endpoint of no known provider is named by its host (and port, when not the scheme's default),
 * so two gateways never share a budget by accident. This class is stateless and thread-safe.
 */
public final class Targets {

    /** The providers' API hosts. */
    private static final Map<String, String> HOSTS = Map.ofEntries(
            Map.entry("api.openai.com", "openai"),
            Map.entry("api.anthropic.com", "anthropic"),
            Map.entry("openrouter.ai", "openrouter"),
            Map.entry("api.deepseek.com", "deepseek"),
            Map.entry("api.together.xyz", "together"),
            Map.entry("api.together.ai", "together"),
            Map.entry("api.groq.com", "groq"),
            Map.entry("api.mistral.ai", "mistral"),
            Map.entry("api.fireworks.ai", "fireworks"),
            Map.entry("api.x.ai", "xai"),
            Map.entry("generativelanguage.googleapis.com", "google"));

    private Targets() {
    }

    /**
     * @param provider the provider's name, e.g. {@code openai}, {@code openrouter}
     * @param model the model as the provider names it, e.g. {@code gpt-4o} or {@code openai/gpt-4o}
     * @return the target
     * @throws IllegalArgumentException naming the bad part
     */
    public static Target of(String provider, String model) {
        Objects.requireNonNull(provider, "provider must not be null");
        Objects.requireNonNull(model, "model must not be null");
        return new Target(provider.trim().toLowerCase(Locale.ROOT), model.trim());
    }

    /**
     * @param endpoint the base URL a client calls, e.g. {@code https://api.openai.com/v1}
     * @param model the model as the provider names it
     * @return the target: {@code providerOf(endpoint)/model}
     * @throws IllegalArgumentException naming the bad part
     */
    public static Target forEndpoint(URI endpoint, String model) {
        return of(providerOf(endpoint), model);
    }

    /**
     * @param endpoint the base URL a client calls
     * @return the provider's name for a known API host, else the host (with its port when not the
     *     scheme's default), e.g. {@code openai}, {@code 127.0.0.1:8080}
     * @throws IllegalArgumentException when the URL has no host
     */
    public static String providerOf(URI endpoint) {
        Objects.requireNonNull(endpoint, "endpoint must not be null");
        String host = endpoint.getHost();
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("endpoint must be an absolute URL with a host, got '" + endpoint + "'");
        }
        host = host.toLowerCase(Locale.ROOT);
        String known = HOSTS.get(host);
        if (known != null) {
            return known;
        }
        int port = endpoint.getPort();
        boolean defaultPort = port < 0 || ("https".equalsIgnoreCase(endpoint.getScheme()) && port == 443)
                || ("http".equalsIgnoreCase(endpoint.getScheme()) && port == 80);
        return defaultPort ? host : host + ":" + port;
    }
}
