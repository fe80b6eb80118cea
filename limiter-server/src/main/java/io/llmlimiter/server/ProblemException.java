package io.llmlimiter.server;

import java.util.List;
import java.util.Map;

/**
 * An error the admin API answers with an RFC 9457 {@code application/problem+json} body. Thrown by
 * routes and by {@link ConfigStore}; {@link Problems} turns it into the response. Immutable and
 * thread-safe.
 */
public final class ProblemException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The kinds of problem the API reports; each has a fixed status, type URI and title. */
    public enum Kind {
        /** The body is not JSON, or not the JSON shape expected. */
        INVALID_JSON(400, "invalid-json", "Malformed JSON body"),
        /** A config (or import) failed validation. */
        INVALID_CONFIG(400, "invalid-config", "Invalid config"),
        /** A price table failed validation; the one in force stays. */
        INVALID_PRICES(400, "invalid-prices", "Invalid price table"),
        /** A provider or model name in the URL path is not allowed. */
        INVALID_TARGET(400, "invalid-target", "Invalid target name"),
        /** A query parameter is not allowed. */
        INVALID_PARAMETER(400, "invalid-parameter", "Invalid query parameter"),
        /** No or a wrong admin token. */
        UNAUTHORIZED(401, "unauthorized", "Missing or wrong admin token"),
        /** No such route or no such target. */
        NOT_FOUND(404, "not-found", "Not found"),
        /** The route exists but not with this method. */
        METHOD_NOT_ALLOWED(405, "method-not-allowed", "Method not allowed"),
        /** The target already has a config. */
        CONFLICT(409, "conflict", "Conflict"),
        /** The body is larger than the route accepts. */
        PAYLOAD_TOO_LARGE(413, "payload-too-large", "Request body too large"),
        /** The body is not JSON by its content type. */
        UNSUPPORTED_MEDIA_TYPE(415, "unsupported-media-type", "Unsupported media type"),
        /** The request line or headers were refused before reaching a route. */
        BAD_REQUEST(400, "bad-request", "Bad request"),
        /** Redis could not be reached; nothing was changed. */
        REDIS_UNAVAILABLE(503, "redis-unavailable", "Redis unavailable"),
        /** The config file could not be written; the change was rolled back. */
        STORAGE_FAILED(500, "storage-failed", "Config file could not be written"),
        /** A bug: nothing the caller sent explains it. */
        INTERNAL(500, "internal", "Internal server error");

        private final int status;
        private final String slug;
        private final String title;

        Kind(int status, String slug, String title) {
            this.status = status;
            this.slug = slug;
            this.title = title;
        }

        /** @return the HTTP status */
        public int status() {
            return status;
        }

        /** @return the problem type URI, e.g. {@code urn:llmlimiter:problem:invalid-config} */
        public String type() {
            return "urn:llmlimiter:problem:" + slug;
        }

        /** @return the short, fixed summary of the problem type */
        public String title() {
            return title;
        }
    }

    /**
     * One field that failed, as RFC 9457's {@code errors} member lists them.
     *
     * @param field the field, e.g. {@code limits[0].amount}, or null for the whole body
     * @param pointer a JSON pointer into the body, e.g. {@code #/limits/0/amount}, or null
     * @param detail what is wrong with it
     */
    public record FieldError(String field, String pointer, String detail) {
    }

    private final Kind kind;
    private final List<FieldError> errors;
    private final Map<String, String> headers;

    /**
     * @param kind the kind of problem
     * @param detail what happened, for a human
     */
    public ProblemException(Kind kind, String detail) {
        this(kind, detail, List.of(), Map.of());
    }

    /**
     * @param kind the kind of problem
     * @param detail what happened, for a human
     * @param errors the fields that failed, first the main one
     * @param headers response headers to add (e.g. {@code WWW-Authenticate})
     */
    public ProblemException(Kind kind, String detail, List<FieldError> errors, Map<String, String> headers) {
        super(detail, null, false, false);
        this.kind = kind;
        this.errors = List.copyOf(errors);
        this.headers = Map.copyOf(headers);
    }

    /**
     * A problem about one named field.
     *
     * @param kind the kind of problem
     * @param field the field
     * @param detail what is wrong
     * @return the exception
     */
    public static ProblemException field(Kind kind, String field, String detail) {
        return new ProblemException(kind, detail, List.of(new FieldError(field, null, detail)), Map.of());
    }

    /** @return the kind of problem */
    public Kind kind() {
        return kind;
    }

    /** @return the fields that failed, possibly none */
    public List<FieldError> errors() {
        return errors;
    }

    /** @return headers to add to the response */
    public Map<String, String> headers() {
        return headers;
    }
}
