package io.llmlimiter.client;

/**
 * Completes a permit whose response streams on after the call returned (see
 * {@link CallContext#deferCompletion()}): the stream's end reports its usage, or its failure. Only
 * the first of {@link #complete} and {@link #fail} counts. Implementations are thread-safe.
 */
public interface StreamCompletion {

    /**
     * The stream ended: its usage is accounted per the target's accounting.
     *
     * @param usage what the stream reported at its end (e.g. OpenAI's {@code stream_options.include_usage}
     *     chunk, Anthropic's {@code message_delta}), or null to keep the admission charge
     */
    void complete(Usage usage);

    /**
     * The stream broke off or was abandoned: the permit is released and the admission charge
     * stands (the provider may have counted the call). Never retried: the caller already holds the
     * stream.
     *
     * @param cause why, for the log
     */
    void fail(Throwable cause);
}
