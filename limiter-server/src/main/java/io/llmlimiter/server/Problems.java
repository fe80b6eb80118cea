package io.llmlimiter.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.llmlimiter.client.LimiterUnavailableException;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.client.internal.Redacted;
import io.llmlimiter.server.ProblemException.FieldError;
import io.llmlimiter.server.ProblemException.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns every failure into an RFC 9457 {@code application/problem+json} response: validation
 * messages become 400s naming the field, Redis outages 503s, anything unexpected a 500 whose
 * detail reveals nothing. This class is thread-safe.
 */
public final class Problems {

    /** The media type of every error body. */
    public static final String MEDIA_TYPE = "application/problem+json";

    /** Request attribute set once a problem body is written, so Javalin's error mappers keep off it. */
    static final String WRITTEN = "llmlimiter.problem";

    private static final Logger LOG = LoggerFactory.getLogger(Problems.class);
    // "limits[0]: amount must ..." : a field path segment followed by ": ".
    private static final Pattern SEGMENT = Pattern.compile("(?:[A-Za-z0-9_][A-Za-z0-9_./:-]*)?(?:\\[\\d+])*");
    // Config fields whose messages carry an inner word that is not a field of the body.
    private static final List<String> LEAF_FIELDS = List.of("limits", "requests_per_minute", "accounting");
    private static final Pattern INDEX = Pattern.compile("\\[(\\d+)]");
    private static final Pattern UNKNOWN = Pattern.compile("^unknown field '([^']{0,200})'");
    private static final Pattern LEADING = Pattern.compile("^([a-z_]+) (?:must|is|does|'|has)");

    private Problems() {
    }

    /**
     * Writes the response for any exception a handler threw.
     *
     * @param e the exception
     * @param ctx the request
     */
    public static void handle(Exception e, Context ctx) {
        write(ctx, toProblem(e));
    }

    /**
     * @param e an exception
     * @return the problem it stands for
     */
    static ProblemException toProblem(Exception e) {
        if (e instanceof ProblemException p) {
            return p;
        }
        if (e instanceof IllegalArgumentException) {
            return validation(Kind.INVALID_CONFIG, e.getMessage());
        }
        if (e instanceof HttpResponseException h && h.getStatus() < 500) {
            // Javalin's own refusals (e.g. a path it cannot decode) keep their 4xx status.
            Kind kind = switch (h.getStatus()) {
                case 401 -> Kind.UNAUTHORIZED;
                case 404 -> Kind.NOT_FOUND;
                case 405 -> Kind.METHOD_NOT_ALLOWED;
                case 413 -> Kind.PAYLOAD_TOO_LARGE;
                case 415 -> Kind.UNSUPPORTED_MEDIA_TYPE;
                default -> Kind.BAD_REQUEST;
            };
            return new ProblemException(kind, h.getMessage() == null ? kind.title() : h.getMessage());
        }
        if (e instanceof LimiterUnavailableException || e instanceof io.lettuce.core.RedisException) {
            LOG.warn("Redis unavailable: {}", Redacted.message(e));
            return new ProblemException(Kind.REDIS_UNAVAILABLE,
                    "Redis could not be reached; nothing was changed. Retry when /health reports it reachable.");
        }
        LOG.error("unexpected failure: {}", Redacted.message(e), e);
        return new ProblemException(Kind.INTERNAL, "The server failed unexpectedly; the change, if any, was not made.");
    }

    /**
     * A validation problem from an {@link IllegalArgumentException} message of the client's parsers.
     *
     * @param kind the kind of problem
     * @param message the message, e.g. {@code limits[0]: amount must be between 1 and ...}
     * @return the problem, with the field named
     */
    public static ProblemException validation(Kind kind, String message) {
        List<Object> path = fieldPath(message);
        String detail = message == null ? "invalid input" : message;
        return new ProblemException(kind, detail, List.of(error(path, detail)), Map.of());
    }

    /**
     * @param path a field path of names and indices
     * @param detail what is wrong
     * @return the field error, or one for the whole body when the path is empty
     */
    static FieldError error(List<Object> path, String detail) {
        if (path.isEmpty()) {
            return new FieldError("body", "#", detail);
        }
        StringBuilder field = new StringBuilder();
        StringBuilder pointer = new StringBuilder("#");
        for (Object p : path) {
            if (p instanceof Integer i) {
                field.append('[').append(i).append(']');
            } else {
                field.append(field.length() == 0 ? "" : ".").append(p);
            }
            pointer.append('/').append(p.toString().replace("~", "~0").replace("/", "~1"));
        }
        return new FieldError(field.toString(), pointer.toString(), detail);
    }

    /**
     * Reads the field a validation message is about. Prefixes like {@code limits[0]: } nest; the
     * leading word of the rest is a field too, except after a field such as {@code limits} whose
     * messages talk about its text ({@code limits: window must ...} is about {@code limits}).
     *
     * @param message the message
     * @return names (String) and indices (Integer), empty when it is about the whole body
     */
    static List<Object> fieldPath(String message) {
        List<Object> path = new ArrayList<>();
        if (message == null) {
            return path;
        }
        String rest = message;
        boolean descend = true;
        int colon;
        while ((colon = rest.indexOf(": ")) > 0 && SEGMENT.matcher(rest.substring(0, colon)).matches()) {
            String seg = rest.substring(0, colon);
            int bracket = seg.indexOf('[');
            String name = bracket < 0 ? seg : seg.substring(0, bracket);
            if (!name.isEmpty()) {
                path.add(name);
            }
            Matcher idx = INDEX.matcher(seg);
            while (idx.find()) {
                path.add(Integer.parseInt(idx.group(1)));
            }
            descend = bracket >= 0 || !LEAF_FIELDS.contains(name);
            rest = rest.substring(colon + 2);
        }
        if (descend) {
            Matcher unknown = UNKNOWN.matcher(rest);
            Matcher leading = LEADING.matcher(rest);
            if (unknown.find()) {
                path.add(unknown.group(1));
            } else if (leading.find() && !List.of("body", "config", "configs", "limit").contains(leading.group(1))) {
                path.add(leading.group(1));
            }
        }
        return path;
    }

    /**
     * Writes a problem as the response.
     *
     * @param ctx the request
     * @param p the problem
     */
    public static void write(Context ctx, ProblemException p) {
        p.headers().forEach(ctx::header);
        ctx.attribute(WRITTEN, Boolean.TRUE);
        ctx.status(p.kind().status()).contentType(MEDIA_TYPE).result(body(p, ctx.path()));
    }

    /**
     * @param p a problem
     * @param instance the request path it happened on
     * @return the problem+json body
     */
    public static String body(ProblemException p, String instance) {
        ObjectNode o = ConfigJson.MAPPER.createObjectNode();
        o.put("type", p.kind().type());
        o.put("title", p.kind().title());
        o.put("status", p.kind().status());
        o.put("detail", p.getMessage());
        if (instance != null) {
            o.put("instance", instance);
        }
        if (!p.errors().isEmpty()) {
            o.put("field", p.errors().get(0).field());
            ArrayNode errors = o.putArray("errors");
            for (FieldError e : p.errors()) {
                ObjectNode n = errors.addObject();
                n.put("field", e.field());
                if (e.pointer() != null) {
                    n.put("pointer", e.pointer());
                }
                n.put("detail", e.detail());
            }
        }
        return o.toString();
    }
}
