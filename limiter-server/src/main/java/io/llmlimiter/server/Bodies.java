package io.llmlimiter.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.llmlimiter.client.internal.ConfigJson;
import io.llmlimiter.server.ProblemException.Kind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads request bodies strictly (media type, size, one JSON value and nothing after it) and writes
 * JSON responses. This class is thread-safe.
 */
final class Bodies {

    /** The largest body a single-config route accepts. */
    static final int CONFIG_MAX_BYTES = 64 * 1024;
    /** The largest body an import accepts. */
    static final int IMPORT_MAX_BYTES = 4 * 1024 * 1024;
    /** The most of a refused body read and discarded before answering (see {@code drain}). */
    static final int DRAIN_MAX_BYTES = 16 * 1024 * 1024;

    /** The media type of config bodies. */
    static final String JSON = "application/json";
    /** The media type of a JSON merge patch (RFC 7396). */
    static final String MERGE_PATCH = "application/merge-patch+json";

    // Trailing garbage and duplicate keys are refused: a body means exactly one thing or nothing.
    private static final ObjectMapper STRICT = ConfigJson.MAPPER.copy()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private Bodies() {
    }

    /**
     * @param ctx the request
     * @param maxBytes the largest body accepted
     * @param mediaTypes the media types accepted (UTF-8 only)
     * @return the body's JSON tree
     * @throws ProblemException 415, 413 or 400 naming what is wrong
     */
    static JsonNode json(Context ctx, int maxBytes, String... mediaTypes) {
        checkMediaType(ctx.header("Content-Type"), List.of(mediaTypes));
        byte[] bytes = read(ctx, maxBytes);
        if (bytes.length == 0) {
            throw ProblemException.field(Kind.INVALID_JSON, "body", "body is empty; expected a JSON document");
        }
        try {
            return STRICT.readTree(bytes);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
            // Jackson appends where an open array or object started, with source details: noise here.
            String why = e.getOriginalMessage().replaceAll("\\s*\\(start marker at \\[Source:.*", "");
            throw ProblemException.field(Kind.INVALID_JSON, "body", "body is not valid JSON" + where + ": " + why);
        } catch (IOException e) {
            throw ProblemException.field(Kind.INVALID_JSON, "body", "body could not be read");
        }
    }

    private static void checkMediaType(String header, List<String> accepted) {
        String given = header == null ? "" : header.toLowerCase(Locale.ROOT);
        String[] parts = given.split(";");
        String type = parts[0].trim();
        boolean utf8 = true;
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            if (p.startsWith("charset=")) {
                utf8 = p.substring(8).replace("\"", "").trim().equals("utf-8");
            }
        }
        if (!accepted.contains(type) || !utf8) {
            throw new ProblemException(Kind.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be "
                    + String.join(" or ", accepted) + " (UTF-8), got " + (header == null ? "none" : "'" + header + "'"),
                    List.of(new ProblemException.FieldError("Content-Type", null, "must be " + String.join(" or ", accepted))),
                    Map.of("Accept-Patch", MERGE_PATCH + ", " + JSON, "Accept-Post", JSON));
        }
    }

    private static byte[] read(Context ctx, int maxBytes) {
        String length = ctx.header("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.trim()) > maxBytes) {
                    drain(ctx);
                    throw tooLarge(maxBytes);
                }
            } catch (NumberFormatException e) {
                throw ProblemException.field(Kind.BAD_REQUEST, "Content-Length", "Content-Length is not a number");
            }
        }
        // Chunked bodies carry no length: count while reading and stop one byte past the limit.
        try (InputStream in = ctx.bodyInputStream()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
                if (out.size() > maxBytes) {
                    drain(in, DRAIN_MAX_BYTES - out.size());
                    throw tooLarge(maxBytes);
                }
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw ProblemException.field(Kind.BAD_REQUEST, "body", "body could not be read");
        }
    }

    /**
     * Reads and discards what the client still sends of a body that is refused (up to
     * {@value #DRAIN_MAX_BYTES} bytes in all), so that it finishes sending and then reads the 413:
     * a server that answers and closes while the client is still uploading makes the client see a
     * reset connection instead of the answer, at random. Larger bodies are cut off.
     */
    private static void drain(Context ctx) {
        try (InputStream in = ctx.bodyInputStream()) {
            drain(in, DRAIN_MAX_BYTES);
        } catch (IOException e) {
            // The client went away: nobody reads the answer anyway.
        }
    }

    private static void drain(InputStream in, long max) throws IOException {
        byte[] buf = new byte[64 * 1024];
        long left = max;
        int n;
        while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
            left -= n;
        }
    }

    private static ProblemException tooLarge(int maxBytes) {
        return ProblemException.field(Kind.PAYLOAD_TOO_LARGE, "body", "body is larger than " + maxBytes
                + " bytes, the most this route accepts");
    }

    /**
     * Sends a JSON response.
     *
     * @param ctx the request
     * @param status the status
     * @param body the body
     */
    static void send(Context ctx, int status, JsonNode body) {
        ctx.status(status).contentType(JSON).result(body.toString());
    }
}
