package io.llmlimiter.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.internal.ConfigJson;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's error handler for what it refuses before a route runs (ambiguous or malformed URIs,
 * oversized headers): answers in RFC 9457 problem+json like every route, never with an HTML page
 * or a stack trace. Thread-safe (stateless).
 */
final class JettyProblems extends ErrorHandler {

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                    Callback callback) throws IOException {
        ObjectNode o = ConfigJson.MAPPER.createObjectNode();
        boolean server = code >= 500;
        o.put("type", "urn:llmlimiter:problem:" + (server ? "internal" : "bad-request"));
        o.put("title", HttpStatus.getMessage(code));
        o.put("status", code);
        // Jetty's messages describe the request (e.g. "Ambiguous URI path encoding"); a 5xx says nothing.
        o.put("detail", server || message == null ? HttpStatus.getMessage(code) : message);
        o.put("field", "path");
        o.putArray("errors").addObject().put("field", "path").put("detail", o.get("detail").asText());
        response.setStatus(code);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, Problems.MEDIA_TYPE);
        response.write(true, ByteBuffer.wrap(o.toString().getBytes(StandardCharsets.UTF_8)), callback);
    }
}
