package io.llmlimiter.spring;

import io.llmlimiter.client.Target;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.prompt.Prompt;

/**
 * Names the budget a Spring AI call goes under. The default names it from the model's endpoint and
 * model ({@link io.llmlimiter.client.Targets#forEndpoint}); declare a bean of this type to choose
 * otherwise, e.g. one target per tenant. Implementations must be thread-safe.
 */
@FunctionalInterface
public interface ChatTargetResolver {

    /**
     * @param model the wrapped model
     * @param prompt the prompt about to be sent
     * @param modelName the model the prompt will use (its options', else the model's default)
     * @param tenant {@code llmlimiter.tenant}, or null
     * @return the target
     */
    Target resolve(ChatModel model, Prompt prompt, String modelName, String tenant);
}
