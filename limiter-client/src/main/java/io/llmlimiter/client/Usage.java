package io.llmlimiter.client;

/**
 * What a call actually used, as the provider reported it (OpenAI {@code usage.prompt_tokens} /
 * {@code completion_tokens}, Anthropic {@code usage.input_tokens} / {@code output_tokens}).
 * This class is immutable and thread-safe.
 *
 * @param inputTokens input tokens, cache reads included
 * @param outputTokens output tokens
 * @param cacheReadTokens input tokens served from the provider's prompt cache (reported apart)
 * @param cacheWriteTokens input tokens written to the provider's prompt cache (Anthropic's
 *     {@code cache_creation_input_tokens}, part of {@code inputTokens}); priced apart
 */
public record Usage(long inputTokens, long outputTokens, long cacheReadTokens, long cacheWriteTokens) {

    /** Validates the usage. */
    public Usage {
        if (inputTokens < 0 || outputTokens < 0 || cacheReadTokens < 0 || cacheWriteTokens < 0) {
            throw new IllegalArgumentException("usage token counts must be >= 0, got input=" + inputTokens
                    + " output=" + outputTokens + " cacheRead=" + cacheReadTokens + " cacheWrite=" + cacheWriteTokens);
        }
    }

    /**
     * @param inputTokens input tokens, cache reads included
     * @param outputTokens output tokens
     * @param cacheReadTokens input tokens served from the provider's prompt cache
     */
    public Usage(long inputTokens, long outputTokens, long cacheReadTokens) {
        this(inputTokens, outputTokens, cacheReadTokens, 0);
    }

    /**
     * @param input input tokens
     * @param output output tokens
     * @return usage without cache reads
     */
    public static Usage of(long input, long output) {
        return new Usage(input, output, 0);
    }

    /**
     * Reads the {@code usage} block of a provider response: OpenAI ({@code prompt_tokens},
     * {@code completion_tokens}, {@code prompt_tokens_details.cached_tokens}) or Anthropic
     * ({@code input_tokens} + {@code cache_creation_input_tokens}, {@code output_tokens},
     * {@code cache_read_input_tokens}, which Anthropic does not count against its input limit).
     *
     * @param json a response body
     * @return the usage, or empty when the body has no usage block
     */
    public static java.util.Optional<Usage> fromResponseBody(String json) {
        return io.llmlimiter.client.internal.UsageJson.parse(json);
    }

    /** @return input plus output tokens */
    public long totalTokens() {
        return inputTokens + outputTokens;
    }
}
