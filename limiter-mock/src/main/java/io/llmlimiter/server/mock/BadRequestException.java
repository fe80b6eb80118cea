package io.llmlimiter.server.mock;

/**
 * A request body the provider refuses with 400. This class is immutable and thread-safe.
 */
final class BadRequestException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String param;

    /**
     * @param param the offending field, or {@code null} when the body as a whole is bad
     * @param message what is wrong, in the provider's words
     */
    BadRequestException(String param, String message) {
        super(message);
        this.param = param;
    }

    /**
     * @return the offending field, or {@code null}
     */
    String param() {
        return param;
    }
}
