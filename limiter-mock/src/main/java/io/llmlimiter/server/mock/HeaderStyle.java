package io.llmlimiter.server.mock;

/**
 * Which rate-limit headers the mock provider sends. {@code Retry-After} is sent on every 429
 * whatever the style, since it is plain HTTP rather than a provider convention. This enum is
 * immutable and thread-safe.
 */
public enum HeaderStyle {
    /** Each endpoint sends its own provider's headers: OpenAI's on chat completions, Anthropic's on messages. */
    NATIVE,
    /** Every endpoint sends OpenAI's {@code x-ratelimit-*} headers. */
    OPENAI,
    /** Every endpoint sends Anthropic's {@code anthropic-ratelimit-*} headers. */
    ANTHROPIC,
    /** No rate-limit headers at all, like a provider that does not advertise its limits. */
    NONE
}
