package io.llmlimiter.openai;

import com.openai.core.RequestOptions;
import com.openai.core.http.Headers;
import com.openai.core.http.HttpClient;
import com.openai.core.http.HttpMethod;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpRequestBody;
import com.openai.core.http.HttpResponse;
import io.llmlimiter.client.CallContext;
import io.llmlimiter.client.CallFailedException;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.http.ErrorResponseException;
import io.llmlimiter.client.http.ModelRequest;
import io.llmlimiter.client.http.RawResponses;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BiFunction;

/** Sends each attempt of a model call under the limiter. This class is thread-safe. */
final class LimitedHttpClient implements HttpClient {

    private static final String RETRY_COUNT = "X-Stainless-Retry-Count";

    private final LlmLimiter limiter;
    private final HttpClient transport;
    private final BiFunction<URI, String, Target> targets;
    private final long defaultOutputTokens;

    LimitedHttpClient(LlmLimiter limiter, HttpClient transport, BiFunction<URI, String, Target> targets,
                      long defaultOutputTokens) {
        this.limiter = limiter;
        this.transport = transport;
        this.targets = targets;
        this.defaultOutputTokens = defaultOutputTokens;
    }

    @Override
    public HttpResponse execute(HttpRequest request, RequestOptions options) {
        Optional<ModelRequest> call = inspect(request);
        if (call.isEmpty()) {
            return transport.execute(request, options);
        }
        Target target = targets.apply(URI.create(request.baseUrl()), call.get().model());
        try {
            return limiter.execute(target, call.get().estimate(),
                    ctx -> RawResponses.onResponse(transport.execute(attempt(request, ctx), options), ctx, ADAPTER));
        } catch (CallFailedException e) {
            return gaveUp(e);
        }
    }

    @Override
    public CompletableFuture<HttpResponse> executeAsync(HttpRequest request, RequestOptions options) {
        Optional<ModelRequest> call;
        Target target;
        try {
            call = inspect(request);
            if (call.isEmpty()) {
                return transport.executeAsync(request, options);
            }
            target = targets.apply(URI.create(request.baseUrl()), call.get().model());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<HttpResponse> result = new CompletableFuture<>();
        limiter.<HttpResponse>executeAsync(target, call.get().estimate(),
                ctx -> transport.executeAsync(attempt(request, ctx), options).thenApply(r -> {
                    try {
                        return RawResponses.onResponse(r, ctx, ADAPTER);
                    } catch (IOException e) {
                        throw new CompletionException(e);
                    }
                })).whenComplete((response, error) -> {
                    if (error == null) {
                        result.complete(response);
                        return;
                    }
                    try {
                        result.complete(gaveUp(error));
                    } catch (Throwable e) {
                        result.completeExceptionally(e);
                    }
                });
        return result;
    }

    @Override
    public void close() {
        transport.close();
    }

    /**
     * The limiter gave up: the provider's last response goes back to the SDK, which raises its own
     * exception for it; a transport failure is the SDK's own exception again (the limiter's
     * {@link CallFailedException} suppressed in it); anything else is the limiter's exception.
     */
    private static HttpResponse gaveUp(Throwable error) {
        Throwable e = error;
        while (e instanceof CompletionException && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof CallFailedException failed && !(failed.getCause() instanceof ErrorResponseException)
                && failed.getCause() instanceof RuntimeException cause) {
            cause.addSuppressed(failed);
            throw cause;
        }
        return RawResponses.lastResponseOrThrow(e, HttpResponse.class);
    }

    /** The request of one attempt: the SDK's retry count header tells the provider which attempt it is. */
    private static HttpRequest attempt(HttpRequest request, CallContext ctx) {
        if (ctx.attempt() == 1 || !request.headers().names().contains(RETRY_COUNT)) {
            return request;
        }
        return request.toBuilder().replaceHeaders(RETRY_COUNT, Integer.toString(ctx.attempt() - 1)).build();
    }

    private Optional<ModelRequest> inspect(HttpRequest request) {
        HttpRequestBody body = request.body();
        if (request.method() != HttpMethod.POST || body == null || !body.repeatable()) {
            return Optional.empty();
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        body.writeTo(bytes);
        return ModelRequest.read("/" + String.join("/", request.pathSegments()), body.contentType(), bytes.toByteArray(),
                defaultOutputTokens);
    }

    static final RawResponses.Adapter<HttpResponse> ADAPTER = new RawResponses.Adapter<>() {
        @Override
        public int status(HttpResponse response) {
            return response.statusCode();
        }

        @Override
        public Map<String, ? extends Collection<String>> headers(HttpResponse response) {
            return response.headers().asMap();
        }

        @Override
        public String contentType(HttpResponse response) {
            List<String> types = response.headers().values("Content-Type");
            return types.isEmpty() ? null : types.get(0);
        }

        @Override
        public InputStream body(HttpResponse response) {
            return response.body();
        }

        @Override
        public void close(HttpResponse response) {
            response.close();
        }

        @Override
        public HttpResponse withBody(HttpResponse response, byte[] body) {
            int status = response.statusCode();
            Headers headers = response.headers();
            return new HttpResponse() {
                @Override
                public int statusCode() {
                    return status;
                }

                @Override
                public Headers headers() {
                    return headers;
                }

                @Override
                public InputStream body() {
                    return new ByteArrayInputStream(body);
                }

                @Override
                public void close() {
                }
            };
        }

        @Override
        public HttpResponse withStream(HttpResponse response, InputStream body) {
            return new HttpResponse() {
                @Override
                public int statusCode() {
                    return response.statusCode();
                }

                @Override
                public Headers headers() {
                    return response.headers();
                }

                @Override
                public InputStream body() {
                    return body;
                }

                @Override
                public void close() {
                    try {
                        body.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    } finally {
                        response.close();
                    }
                }
            };
        }
    };
}
