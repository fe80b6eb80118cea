package io.llmlimiter.langchain4j;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.TokenEstimator;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a LangChain4j {@link ChatRequest} is expected to use: its messages (and tool
 * specifications) counted with jtokkit for the model, plus the most output it allows
 * ({@code maxOutputTokens} of the request, else of the model's defaults, else a fallback). This
 * class is stateless and thread-safe.
 */
public final class ChatEstimates {

    private ChatEstimates() {
    }

    /**
     * @param request the request
     * @param defaults the model's default parameters (may be null)
     * @param fallbackMaxOutputTokens the output reserved when neither names {@code maxOutputTokens}
     * @return input tokens of the messages and tools, output tokens the request allows
     */
    public static Estimate of(ChatRequest request, ChatRequestParameters defaults, int fallbackMaxOutputTokens) {
        String model = modelName(request, defaults);
        TokenEstimator tokens = TokenEstimator.forModel(model == null ? "" : model);
        List<Map.Entry<String, String>> messages = new ArrayList<>();
        for (ChatMessage m : request.messages()) {
            messages.add(Map.entry(m.type().name().toLowerCase(java.util.Locale.ROOT), text(m)));
        }
        long input = tokens.countChat(messages);
        List<ToolSpecification> tools = request.toolSpecifications();
        if (tools != null) {
            for (ToolSpecification t : tools) {
                input += tokens.countTokens(t.name()) + tokens.countTokens(nullToEmpty(t.description()))
                        + (t.parameters() == null ? 0 : tokens.countTokens(t.parameters().toString()));
            }
        }
        Integer max = request.maxOutputTokens();
        if (max == null && defaults != null) {
            max = defaults.maxOutputTokens();
        }
        return Estimate.of(input, max != null ? max : fallbackMaxOutputTokens);
    }

    /**
     * @param request the request
     * @param defaults the model's default parameters (may be null)
     * @return the model the request names, else the model's default, else null
     */
    static String modelName(ChatRequest request, ChatRequestParameters defaults) {
        String model = request.modelName();
        if (model == null && defaults != null) {
            model = defaults.modelName();
        }
        return model;
    }

    private static String text(ChatMessage m) {
        if (m instanceof SystemMessage s) {
            return nullToEmpty(s.text());
        }
        if (m instanceof UserMessage u) {
            return contents(u.contents());
        }
        if (m instanceof AiMessage a) {
            StringBuilder b = new StringBuilder(nullToEmpty(a.text()));
            if (a.toolExecutionRequests() != null) {
                for (ToolExecutionRequest r : a.toolExecutionRequests()) {
                    b.append(' ').append(nullToEmpty(r.name())).append(' ').append(nullToEmpty(r.arguments()));
                }
            }
            return b.toString();
        }
        if (m instanceof ToolExecutionResultMessage t) {
            return nullToEmpty(t.text());
        }
        return m.toString();
    }

    private static String contents(List<Content> contents) {
        StringBuilder b = new StringBuilder();
        for (Content c : contents) {
            if (c instanceof TextContent t) {
                b.append(t.text()).append('\n');
            }
        }
        return b.toString();
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
