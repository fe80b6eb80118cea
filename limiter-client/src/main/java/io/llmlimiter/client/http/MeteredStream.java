package io.llmlimiter.client.http;

import io.llmlimiter.client.StreamCompletion;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A streamed response body (server-sent events) that completes its permit when the stream ends:
 * with the usage the stream reported once the provider said it is complete ({@code [DONE]},
 * {@code message_stop}, {@code response.completed}), or as failed (the admission charge stands)
 * when it breaks, ends without that, or is closed before it.
 * Thread-safe as far as its reader is: one thread reads, any thread may close.
 */
public final class MeteredStream extends FilterInputStream {

    private final StreamCompletion completion;
    private final StreamUsage usage = new StreamUsage();
    private final AtomicBoolean done = new AtomicBoolean();

    /**
     * @param body the provider's response body
     * @param completion completes the permit the stream runs under
     */
    public MeteredStream(InputStream body, StreamCompletion completion) {
        super(body);
        this.completion = completion;
    }

    @Override
    public int read() throws IOException {
        int b;
        try {
            b = super.read();
        } catch (IOException | RuntimeException e) {
            fail(e);
            throw e;
        }
        if (b < 0) {
            atEnd();
        } else {
            usage.accept(new byte[] {(byte) b}, 0, 1);
            if (usage.ended()) {
                finish();
            }
        }
        return b;
    }

    @Override
    public int read(byte[] buffer, int off, int len) throws IOException {
        int n;
        try {
            n = super.read(buffer, off, len);
        } catch (IOException | RuntimeException e) {
            fail(e);
            throw e;
        }
        if (n < 0) {
            atEnd();
        } else if (n > 0) {
            usage.accept(buffer, off, n);
            if (usage.ended()) {
                finish();
            }
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // Skipped bytes are read, so the usage they hold is seen.
        byte[] buffer = new byte[(int) Math.min(8192, Math.max(0, n))];
        long skipped = 0;
        while (skipped < n) {
            int r = read(buffer, 0, (int) Math.min(buffer.length, n - skipped));
            if (r < 0) {
                break;
            }
            skipped += r;
        }
        return skipped;
    }

    @Override
    public void close() throws IOException {
        try {
            super.close();
        } finally {
            if (usage.ended()) {
                finish();
            } else {
                fail(new IOException("the stream was closed before the provider ended it"));
            }
        }
    }

    /** @return the usage seen so far */
    public StreamUsage usage() {
        return usage;
    }

    private void atEnd() {
        if (usage.ended()) {
            finish();
        } else {
            fail(new IOException("the stream ended before the provider said it was complete"));
        }
    }

    private void finish() {
        if (done.compareAndSet(false, true)) {
            completion.complete(usage.usage().orElse(null));
        }
    }

    private void fail(Throwable cause) {
        if (done.compareAndSet(false, true)) {
            completion.fail(cause);
        }
    }
}
