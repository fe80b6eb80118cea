package io.llmlimiter.okhttp;

import io.llmlimiter.client.CallFailedException;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.client.http.ErrorResponseException;
import io.llmlimiter.client.http.ModelRequest;
import io.llmlimiter.client.http.RawResponses;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiFunction;
import okhttp3.Interceptor;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.Buffer;
import okio.Okio;

/**
 * An OkHttp application interceptor (for OkHttp and Retrofit) that puts every chat request under
 * the fleet budget: the request runs in {@link LlmLimiter#execute}, which waits for a permit of its
 * target, reports the response's rate-limit headers and usage, and retries a 429 or 5xx itself,
 * with the shared cooldown and {@code Retry-After}. When the limiter gives up, the caller gets the
 * provider's last response, as without the interceptor.
 *
 * <pre>{@code
 * OkHttpClient http = new OkHttpClient.Builder().addInterceptor(LlmLimiterInterceptor.of(limiter)).build();
 * }</pre>
 *
 * <p>What is a chat request: a {@code POST} whose JSON body names a {@code model} (OpenAI chat
 * completions, responses, completions, embeddings; Anthropic messages; any OpenAI-compatible API).
 * Its target is {@code Targets.forEndpoint(url, model)} (e.g. {@code openai/gpt-4o}, or the host
 * and port for an unknown host), or what {@link Builder#targets} maps; its estimate is read from the
 * body ({@link ModelRequest}). Everything else (GET, multipart and one-shot bodies, bodies without
 * a model) passes through unbudgeted and unchanged. A streamed answer ({@code text/event-stream})
 * holds its permit until the body is read to its end or closed, and records the usage the stream
 * reports (OpenAI: set {@code stream_options.include_usage}; Anthropic: {@code message_delta}).
 *
 * <p>Add it with {@code addInterceptor} (an application interceptor: it calls the chain once per
 * attempt), not {@code addNetworkInterceptor}. It waits for its permit on the thread that runs the
 * call: the caller's for {@code execute()}, a dispatcher thread for {@code enqueue()}. This class is
 * immutable and thread-safe.
 */
public final class LlmLimiterInterceptor implements Interceptor {

    private final LlmLimiter limiter;
    private final BiFunction<URI, String, Target> targets;
    private final long defaultOutputTokens;

    private LlmLimiterInterceptor(Builder b) {
        this.limiter = b.limiter;
        this.targets = b.targets;
        this.defaultOutputTokens = b.defaultOutputTokens;
    }

    /**
     * @param limiter the limiter
     * @return an interceptor with the default target mapping
     */
    public static LlmLimiterInterceptor of(LlmLimiter limiter) {
        return builder(limiter).build();
    }

    /**
     * @param limiter the limiter
     * @return a builder
     */
    public static Builder builder(LlmLimiter limiter) {
        return new Builder(limiter);
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
        Request request = chain.request();
        RequestBody body = request.body();
        if (!"POST".equals(request.method()) || body == null || body.isOneShot() || body.isDuplex()) {
            return chain.proceed(request);
        }
        MediaType type = body.contentType();
        Buffer buffer = new Buffer();
        body.writeTo(buffer);
        byte[] bytes = buffer.readByteArray();
        Optional<ModelRequest> call = ModelRequest.read(request.url().encodedPath(),
                type == null ? null : type.toString(), bytes, defaultOutputTokens);
        Request sent = request.newBuilder().method("POST", RequestBody.create(bytes, type)).build();
        if (call.isEmpty()) {
            return chain.proceed(sent);
        }
        Target target = targets.apply(request.url().uri(), call.get().model());
        try {
            return limiter.execute(target, call.get().estimate(),
                    ctx -> RawResponses.onResponse(chain.proceed(sent), ctx, ADAPTER));
        } catch (CallFailedException e) {
            if (e.getCause() instanceof ErrorResponseException r && r.response() instanceof Response last) {
                return last;
            }
            if (e.getCause() instanceof IOException io) {
                io.addSuppressed(e);
                throw io;
            }
            throw e;
        }
    }

    private static final RawResponses.Adapter<Response> ADAPTER = new RawResponses.Adapter<>() {
        @Override
        public int status(Response response) {
            return response.code();
        }

        @Override
        public Map<String, ? extends Collection<String>> headers(Response response) {
            return response.headers().toMultimap();
        }

        @Override
        public String contentType(Response response) {
            return response.header("Content-Type");
        }

        @Override
        public InputStream body(Response response) {
            return response.body().byteStream();
        }

        @Override
        public void close(Response response) {
            response.close();
        }

        @Override
        public Response withBody(Response response, byte[] body) {
            return response.newBuilder().body(ResponseBody.create(body, response.body().contentType())).build();
        }

        @Override
        public Response withStream(Response response, InputStream body) {
            return response.newBuilder()
                    .body(ResponseBody.create(Okio.buffer(Okio.source(body)), response.body().contentType(), -1))
                    .build();
        }
    };

    /** Builds an {@link LlmLimiterInterceptor}. Not thread-safe. */
    public static final class Builder {
        private final LlmLimiter limiter;
        private BiFunction<URI, String, Target> targets = Targets::forEndpoint;
        private long defaultOutputTokens = 1024;

        private Builder(LlmLimiter limiter) {
            this.limiter = Objects.requireNonNull(limiter, "limiter must not be null");
        }

        /**
         * @param mapping names the target of a chat request from its URL and the model in its body
         *     (default {@link Targets#forEndpoint}: {@code openai/gpt-4o}, {@code anthropic/claude-...},
         *     or the host and port of an unknown host)
         * @return this builder
         */
        public Builder targets(BiFunction<URI, String, Target> mapping) {
            this.targets = Objects.requireNonNull(mapping, "targets must not be null");
            return this;
        }

        /**
         * @param tokens the output tokens a request is expected to use when its body sets no
         *     maximum (default 1024)
         * @return this builder
         */
        public Builder defaultOutputTokens(long tokens) {
            if (tokens < 0) {
                throw new IllegalArgumentException("defaultOutputTokens must be >= 0, got " + tokens);
            }
            this.defaultOutputTokens = tokens;
            return this;
        }

        /** @return the interceptor */
        public LlmLimiterInterceptor build() {
            return new LlmLimiterInterceptor(this);
        }
    }
}
