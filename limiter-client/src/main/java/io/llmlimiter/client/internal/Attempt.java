package io.llmlimiter.client.internal;

import io.llmlimiter.client.CallContext;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Usage;
import java.util.Collection;
import java.util.Map;

/** One attempt's context: what the call reported. This class is thread-safe. */
final class Attempt implements CallContext {

    private final int number;
    private final Permit permit;
    private volatile Usage usage;
    private volatile Map<String, ? extends Collection<String>> headers = Map.of();

    Attempt(int number, Permit permit) {
        this.number = number;
        this.permit = permit;
    }

    @Override
    public int attempt() {
        return number;
    }

    @Override
    public Permit permit() {
        return permit;
    }

    @Override
    public void usage(Usage usage) {
        this.usage = usage;
    }

    @Override
    public void headers(Map<String, ? extends Collection<String>> headers) {
        this.headers = headers == null ? Map.of() : headers;
    }

    Usage reportedUsage() {
        return usage;
    }

    Map<String, ? extends Collection<String>> headers() {
        return headers;
    }
}
