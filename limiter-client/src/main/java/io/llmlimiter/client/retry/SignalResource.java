package io.llmlimiter.client.retry;

/**
 * The provider-side resource a rate-limit header describes.
 *
 * <p>Enum constants are immutable and therefore thread-safe.
 */
public enum SignalResource {

    /** Requests per window ({@code x-ratelimit-*-requests}, {@code anthropic-ratelimit-requests-*}). */
    REQUESTS,

    /** Total tokens per window ({@code x-ratelimit-*-tokens}, {@code anthropic-ratelimit-tokens-*}). */
    TOKENS,

    /** Input tokens per window ({@code anthropic-ratelimit-input-tokens-*}). */
    INPUT_TOKENS,

    /** Output tokens per window ({@code anthropic-ratelimit-output-tokens-*}). */
    OUTPUT_TOKENS
}
