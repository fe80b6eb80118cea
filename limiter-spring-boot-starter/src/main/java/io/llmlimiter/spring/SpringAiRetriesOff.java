package io.llmlimiter.spring;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

import java.util.Map;

/**
 * Turns Spring AI's own retries off while the limiter owns the retry loop: the OpenAI client's
 * retries ({@code spring.ai.openai.max-retries=0}; the SDK otherwise retries a 429 inside one
 * admitted call, unseen by the budget) and Spring AI's retry template
 * ({@code spring.ai.retry.max-attempts=0}, used by models that still have one). These take
 * precedence over the application's own settings; set {@code llmlimiter.spring-ai.disable-model-retries=false}
 * (or {@code llmlimiter.spring-ai.enabled=false}) to keep them. Stateless and thread-safe.
 */
public class SpringAiRetriesOff implements EnvironmentPostProcessor {

    /** The name of the property source added. */
    public static final String SOURCE = "llmlimiter-spring-ai-retries-off";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        boolean on = environment.getProperty("llmlimiter.enabled", Boolean.class, true)
                && environment.getProperty("llmlimiter.spring-ai.enabled", Boolean.class, true)
                && environment.getProperty("llmlimiter.spring-ai.disable-model-retries", Boolean.class, true);
        if (!on || environment.getPropertySources().contains(SOURCE)) {
            return;
        }
        environment.getPropertySources().addFirst(new MapPropertySource(SOURCE, Map.of(
                "spring.ai.openai.max-retries", "0",
                "spring.ai.retry.max-attempts", "0")));
    }
}
