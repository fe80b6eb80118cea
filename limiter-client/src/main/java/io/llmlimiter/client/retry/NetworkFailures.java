package io.llmlimiter.client.retry;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/**
 * Classifies exceptions that never produced an HTTP response, by type and cause chain.
 *
 * <p>Stateless and thread-safe.
 */
final class NetworkFailures {

    /** Message fragments of plain {@link IOException}s that mean the peer dropped the connection. */
    private static final List<String> DROPPED_CONNECTION = List.of(
            "connection reset", "broken pipe", "connection closed", "received no bytes");

    private NetworkFailures() {
    }

    /** TIMEOUT, CONNECTION, or UNKNOWN when nothing in the chain is a recognised network failure. */
    static FailureKind classify(Throwable throwable) {
        for (Throwable t : Causes.chain(throwable)) {
            // Interruption means "stop now"; retrying would ignore the caller's intent.
            if (t instanceof InterruptedException || t instanceof ClosedByInterruptException) {
                return FailureKind.UNKNOWN;
            }
            // HttpConnectTimeoutException extends HttpTimeoutException, so it must be tested first.
            if (t instanceof HttpConnectTimeoutException || t instanceof ConnectException
                    || t instanceof ClosedChannelException) {
                return FailureKind.CONNECTION;
            }
            if (t instanceof HttpTimeoutException || t instanceof SocketTimeoutException
                    || t instanceof TimeoutException) {
                return FailureKind.TIMEOUT;
            }
            if (t instanceof IOException && mentionsDroppedConnection(t.getMessage())) {
                return FailureKind.CONNECTION;
            }
        }
        return FailureKind.UNKNOWN;
    }

    private static boolean mentionsDroppedConnection(String message) {
        if (message == null) {
            return false;
        }
        String lower = message.toLowerCase(Locale.ROOT);
        return DROPPED_CONNECTION.stream().anyMatch(lower::contains);
    }
}
