package io.llmlimiter.client;

import java.util.Collection;
import java.util.Map;

/**
 * One attempt of an {@code execute}: the call tells the limiter what the provider reported.
 * Implementations are thread-safe.
 */
public interface CallContext {

    /** @return the attempt number, 1 for the first */
    int attempt();

    /** @return the permit the attempt runs under */
    Permit permit();

    /**
     * Reports the usage of a successful response; it is accounted per the target's accounting.
     * Without it the admission charge stands.
     *
     * @param usage what the call used (see {@link Usage#fromResponseBody(String)})
     */
    void usage(Usage usage);

    /**
     * Reports a successful response's headers: provider rate-limit headers there (OpenAI
     * {@code x-ratelimit-*}, Anthropic {@code anthropic-ratelimit-*}) tell the whole fleet when the
     * provider's remaining budget runs low. Failed responses carry their headers in the exception.
     *
     * @param headers the response headers
     */
    void headers(Map<String, ? extends Collection<String>> headers);

    /**
     * For a response that streams on after the call returns (server-sent events): the permit is
     * completed not when the call returns but when the returned handle is, with the usage the
     * stream reports at its end; until then its lease is kept and renewed. Call it before the call
     * returns. When the attempt fails anyway, the limiter releases the permit as for any failure and
     * the handle does nothing.
     *
     * @return the handle that completes this attempt's permit
     */
    StreamCompletion deferCompletion();
}
