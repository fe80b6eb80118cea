package io.llmlimiter.client;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Estimates how many tokens a request will consume, so that a token budget can be reserved before
 * the call is made. Built on jtokkit's BPE encodings; no tokenizer is implemented here.
 *
 * <p>Encoding choice ({@link #forModel(String)}): {@code o200k_base} for the GPT-4o, GPT-4.1,
 * GPT-4.5, GPT-5, gpt-oss and o1/o3/o4 families (gpt-oss's {@code o200k_harmony} is approximated
 * by {@code o200k_base}), and {@code cl100k_base} for GPT-4, GPT-3.5 and everything else.
 * Non-OpenAI models (Claude, Gemini, Llama, ...) use tokenizers that are not public or not in
 * jtokkit, so they are <em>approximated</em> with {@code cl100k_base}; expect counts to differ by a
 * modest percentage and reconcile with the provider's reported usage afterwards.
 *
 * <p>Thread-safe: instances are immutable, jtokkit encodings are thread-safe, and the two
 * estimators are created once and shared. Text is encoded as ordinary text, so user input that
 * contains special-token markers such as {@code <|endoftext|>} is counted rather than rejected.
 */
public final class TokenEstimator {

    /**
     * Tokens OpenAI adds around every chat message, and tokens that prime the assistant reply.
     * Source: OpenAI Cookbook, "How to count tokens with tiktoken", {@code num_tokens_from_messages}
     * ({@code tokens_per_message = 3} for current chat models; "every reply is primed with
     * {@code <|start|>assistant<|message|>}", 3 tokens).
     */
    public static final int TOKENS_PER_MESSAGE = 3;

    /** Tokens that prime the assistant's reply; see {@link #TOKENS_PER_MESSAGE} for the source. */
    public static final int REPLY_PRIMING_TOKENS = 3;

    // The lazy registry loads an encoding's vocabulary on first use only (each is several MB).
    private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();

    private static final class Cl100k {
        static final TokenEstimator INSTANCE = new TokenEstimator(REGISTRY.getEncoding(EncodingType.CL100K_BASE));
    }

    private static final class O200k {
        static final TokenEstimator INSTANCE = new TokenEstimator(REGISTRY.getEncoding(EncodingType.O200K_BASE));
    }

    /** Model-name prefixes that use o200k_base, following tiktoken's model table. */
    private static final List<String> O200K_PREFIXES = List.of(
            "gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-oss", "o1", "o3", "o4");

    private final Encoding encoding;

    private TokenEstimator(Encoding encoding) {
        this.encoding = encoding;
    }

    /**
     * The estimator for a model name, e.g. {@code gpt-4o-mini}, {@code openai/gpt-4.1} or
     * {@code claude-sonnet-4}. Matching ignores case and a leading {@code provider/} prefix.
     *
     * @param model the model name
     * @return a shared estimator
     */
    public static TokenEstimator forModel(String model) {
        Objects.requireNonNull(model, "model");
        String name = model.trim().toLowerCase(Locale.ROOT);
        name = name.substring(name.lastIndexOf('/') + 1);
        for (String prefix : O200K_PREFIXES) {
            // Require a separator after o-series names so that e.g. "o1x" is not taken for "o1".
            if (name.equals(prefix) || name.startsWith(prefix + "-")
                    || (prefix.startsWith("gpt-") && name.startsWith(prefix))) {
                return o200k();
            }
        }
        return cl100k();
    }

    /**
     * The {@code cl100k_base} estimator (GPT-4, GPT-3.5, and the approximation for other providers).
     *
     * @return a shared estimator
     */
    public static TokenEstimator cl100k() {
        return Cl100k.INSTANCE;
    }

    /**
     * The {@code o200k_base} estimator (GPT-4o and newer OpenAI models).
     *
     * @return a shared estimator
     */
    public static TokenEstimator o200k() {
        return O200k.INSTANCE;
    }

    /**
     * The jtokkit encoding name, {@code cl100k_base} or {@code o200k_base}.
     *
     * @return the encoding name
     */
    public String encodingName() {
        return encoding.getName();
    }

    /**
     * Counts the tokens of a text.
     *
     * @param text the text (not {@code null})
     * @return the token count
     */
    public int countTokens(String text) {
        return encoding.countTokensOrdinary(Objects.requireNonNull(text, "text"));
    }

    /**
     * Counts a chat prompt the way OpenAI bills it: for every message {@value #TOKENS_PER_MESSAGE}
     * tokens plus the tokens of its role and content, then {@value #REPLY_PRIMING_TOKENS} tokens
     * for reply priming.
     *
     * @param roleAndContent messages as (role, content) pairs, e.g. {@code Map.entry("user", "hi")}
     * @return the estimated prompt tokens
     */
    public int countChat(List<Map.Entry<String, String>> roleAndContent) {
        int total = REPLY_PRIMING_TOKENS;
        for (Map.Entry<String, String> message : roleAndContent) {
            total += TOKENS_PER_MESSAGE + countTokens(message.getKey()) + countTokens(message.getValue());
        }
        return total;
    }

    /**
     * Like {@link #countChat(List)} for messages given by content only: per message
     * {@value #TOKENS_PER_MESSAGE} tokens plus its content, plus {@value #REPLY_PRIMING_TOKENS}.
     * Role names are not counted (usually one token each); use {@link #countChat(List)} when exact.
     *
     * @param contents message contents
     * @return the estimated prompt tokens
     */
    public int countMessages(List<String> contents) {
        int total = REPLY_PRIMING_TOKENS;
        for (String content : contents) {
            total += TOKENS_PER_MESSAGE + countTokens(content);
        }
        return total;
    }

    /**
     * The worst-case tokens a completion request can consume: prompt tokens plus the requested
     * {@code max_tokens}, which is what a limiter must reserve up front.
     *
     * @param prompt the prompt text
     * @param maxTokens the request's {@code max_tokens}, {@code >= 0}
     * @return prompt tokens plus {@code maxTokens}
     */
    public long estimate(String prompt, int maxTokens) {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens must be >= 0: " + maxTokens);
        }
        return (long) countTokens(prompt) + maxTokens;
    }

    /**
     * Names the encoding.
     *
     * @return e.g. {@code TokenEstimator[cl100k_base]}
     */
    @Override
    public String toString() {
        return "TokenEstimator[" + encodingName() + ']';
    }
}
