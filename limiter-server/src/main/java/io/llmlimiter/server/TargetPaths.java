package io.llmlimiter.server;

import io.llmlimiter.client.Target;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.io.IOException;
import java.util.Arrays;
import java.util.Set;

/**
 * Paths of one target under {@value TargetRoutes#BASE}. A model may hold {@code /}
 * ({@code openrouter/openai/gpt-4o}); the routes take it as one path segment, so the canonical path
 * encodes the model's slashes: {@code /api/v1/targets/openrouter/openai%2Fgpt-4o}. The same target
 * also routes with plain slashes ({@code /api/v1/targets/openrouter/openai/gpt-4o}, and
 * {@code .../openai/gpt-4o/stats}): {@link #filter()} rewrites such a path to the canonical one
 * before routing. A trailing {@code stats}, {@code reset}, {@code history} or {@code tenants} segment after at least one model
 * segment is always the sub-resource, so a model whose last segment is literally one of them
 * must be sent with {@code %2F}. Thread-safe (stateless).
 */
final class TargetPaths {

    private static final String PREFIX = TargetRoutes.BASE + "/";
    private static final Set<String> SUB_RESOURCES = Set.of("stats", "reset", "history", "tenants");

    private TargetPaths() {
    }

    /**
     * @param target a target
     * @return its canonical path, e.g. {@code /api/v1/targets/openrouter/openai%2Fgpt-4o}
     */
    static String of(Target target) {
        // Names are letters, digits and . _ - : only, all legal in a path segment; only the model's / is encoded.
        return PREFIX + target.provider() + "/" + target.model().replace("/", "%2F");
    }

    /**
     * Rewrites a raw (still URL-encoded) request path whose model is spread over several segments
     * to the canonical one-segment form; any other path is returned as is.
     *
     * @param rawPath a request path as sent, e.g. {@code /api/v1/targets/openrouter/openai/gpt-4o/stats}
     * @return e.g. {@code /api/v1/targets/openrouter/openai%2Fgpt-4o/stats}
     */
    static String canonical(String rawPath) {
        if (!rawPath.startsWith(PREFIX)) {
            return rawPath;
        }
        String[] segments = rawPath.substring(PREFIX.length()).split("/", -1);
        // segments[0] is the provider; an empty segment is left for validation to refuse.
        if (segments.length < 3 || Arrays.asList(segments).contains("")) {
            return rawPath;
        }
        int modelEnd = SUB_RESOURCES.contains(segments[segments.length - 1]) ? segments.length - 1 : segments.length;
        if (modelEnd - 1 < 2) {
            return rawPath;
        }
        StringBuilder out = new StringBuilder(PREFIX).append(segments[0]).append('/');
        out.append(String.join("%2F", Arrays.copyOfRange(segments, 1, modelEnd)));
        if (modelEnd < segments.length) {
            out.append('/').append(segments[modelEnd]);
        }
        return out.toString();
    }

    /** @return a servlet filter that applies {@link #canonical(String)} to every request before routing */
    static Filter filter() {
        return new Filter() {
            @Override
            public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
                    throws IOException, ServletException {
                if (request instanceof HttpServletRequest http) {
                    String raw = http.getRequestURI();
                    String canonical = canonical(raw);
                    if (!canonical.equals(raw)) {
                        chain.doFilter(new HttpServletRequestWrapper(http) {
                            @Override
                            public String getRequestURI() {
                                return canonical;
                            }
                        }, response);
                        return;
                    }
                }
                chain.doFilter(request, response);
            }
        };
    }
}
