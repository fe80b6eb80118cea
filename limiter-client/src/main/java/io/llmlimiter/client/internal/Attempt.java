package io.llmlimiter.client.internal;

import io.llmlimiter.client.CallContext;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.StreamCompletion;
import io.llmlimiter.client.Usage;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/** One attempt's context: what the call reported. This class is thread-safe. */
final class Attempt implements CallContext {

    private final int number;
    private final Permit permit;
    private volatile Usage usage;
    private volatile Map<String, ? extends Collection<String>> headers = Map.of();
    private final AtomicReference<Deferred> deferred = new AtomicReference<>();

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

    @Override
    public StreamCompletion deferCompletion() {
        deferred.compareAndSet(null, new Deferred());
        return deferred.get();
    }

    /** @return the handle of a deferred completion, or null when the permit completes with the call */
    Deferred deferred() {
        return deferred.get();
    }

    /**
     * The stream's end, as the caller reports it: completes once; the limiter attaches what to do
     * with it when the call has returned. Thread-safe.
     */
    static final class Deferred implements StreamCompletion {
        private final CompletableFuture<Usage> ended = new CompletableFuture<>();

        @Override
        public void complete(Usage usage) {
            ended.complete(usage);
        }

        @Override
        public void fail(Throwable cause) {
            ended.completeExceptionally(cause == null ? new IllegalStateException("stream failed") : cause);
        }

        /** @return completes with the stream's usage (null: keep the charge), or exceptionally when it failed */
        CompletableFuture<Usage> ended() {
            return ended;
        }
    }

    Usage reportedUsage() {
        return usage;
    }

    Map<String, ? extends Collection<String>> headers() {
        return headers;
    }
}
