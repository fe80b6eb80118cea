package io.llmlimiter.server.mock;

import java.time.Instant;

/**
 * One admitted request, as recorded for tests that check what reached the provider. This record
 * is immutable and thread-safe.
 *
 * @param at the wall-clock time of admission
 * @param nanoTime the {@link System#nanoTime()} of admission, which the windows use
 * @param tokens the tokens charged (prompt plus {@code max_tokens})
 * @param endpoint the path called, e.g. {@code /v1/chat/completions}
 */
public record Admission(Instant at, long nanoTime, long tokens, String endpoint) {
}
