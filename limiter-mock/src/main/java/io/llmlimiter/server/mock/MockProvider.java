package io.llmlimiter.server.mock;

import io.javalin.Javalin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A local HTTP server that behaves like a rate-limited LLM provider, for the demo, the command line
 * and tests. It listens on 127.0.0.1 and serves
 * <ul>
 *   <li>{@code POST /v1/chat/completions}, OpenAI-compatible, with {@code x-ratelimit-*} headers;</li>
 *   <li>{@code POST /v1/messages}, Anthropic-style, with {@code anthropic-ratelimit-*} headers;</li>
 *   <li>either with {@code "stream": true}: the same admission, answered as the provider's server-sent
 *       events, usage at the end (OpenAI with {@code stream_options.include_usage}, Anthropic in
 *       {@code message_delta}).</li>
 * </ul>
 * Both share one set of exact sliding windows and one concurrency cap (see {@link MockProviderConfig}).
 * A request is charged {@code prompt_tokens + max_tokens} at arrival, prompt tokens being
 * {@code ceil(characters / 4)}; over a limit it gets 429 with {@code Retry-After}; bad input gets
 * 400, never 500.
 *
 * <pre>{@code
 * try (MockProvider p = MockProvider.start(MockProviderConfig.builder()
 *         .requests(20, Duration.ofSeconds(2)).tokens(4000, Duration.ofSeconds(2)).build())) {
 *     call(p.baseUrl() + "/v1/chat/completions");
 * }
 * }</pre>
 *
 * This class is thread-safe: counters, reconfiguration and fault injection may be used while
 * requests are served.
 */
public final class MockProvider implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MockProvider.class);
    private static final String HOST = "127.0.0.1";
    /** Anthropic's documented cap for the Messages API; large prompts are how token limits get tested. */
    private static final long MAX_REQUEST_BYTES = 32L * 1024 * 1024;

    private final AdmissionController controller;
    private final FaultInjector faults = new FaultInjector();
    private final CallStats stats = new CallStats();
    private final AtomicLong received = new AtomicLong();
    private final Javalin app;

    private MockProvider(int port, MockProviderConfig config) {
        this.controller = new AdmissionController(config);
        OpenAiEndpoint openAi = new OpenAiEndpoint(controller, faults, stats);
        AnthropicEndpoint anthropic = new AnthropicEndpoint(controller, faults, stats);
        this.app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.http.maxRequestSize = MAX_REQUEST_BYTES;
            // Every request counts here, whatever its method or path: a warm-up GET too.
            cfg.routes.before(ctx -> received.incrementAndGet());
            cfg.routes.post(openAi.path(), openAi);
            cfg.routes.post(anthropic.path(), anthropic);
            // Whatever slips through still answers in a provider's shape, so clients can parse it.
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                LOG.warn("mock provider failed on {}", ctx.path(), e);
                ProviderEndpoint.send(ctx, 500, pick(ctx.path(), openAi, anthropic).faultBody(500));
            });
            cfg.routes.error(404, ctx -> ProviderEndpoint.send(ctx, 404, pick(ctx.path(), openAi, anthropic)
                    .errorBody(404, "Invalid URL (" + ctx.method() + " " + ctx.path() + ")")));
        });
        app.start(HOST, port);
    }

    private static ProviderEndpoint pick(String path, ProviderEndpoint openAi, ProviderEndpoint anthropic) {
        return path.startsWith(anthropic.path()) ? anthropic : openAi;
    }

    /**
     * Starts a mock provider on a free port.
     *
     * @param config the initial limits and behaviour
     * @return the running provider
     */
    public static MockProvider start(MockProviderConfig config) {
        return start(0, config);
    }

    /**
     * Starts a mock provider.
     *
     * @param port the port to listen on, 0 for a free one
     * @param config the initial limits and behaviour
     * @return the running provider
     */
    public static MockProvider start(int port, MockProviderConfig config) {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
        }
        return new MockProvider(port, Objects.requireNonNull(config, "config must not be null"));
    }

    /**
     * @return the port listened on
     */
    public int port() {
        return app.port();
    }

    /**
     * @return e.g. {@code http://127.0.0.1:43125}, without a trailing slash
     */
    public String baseUrl() {
        return "http://" + HOST + ":" + port();
    }

    /**
     * @return the configuration in force
     */
    public MockProviderConfig config() {
        return controller.config();
    }

    /**
     * Changes limits and behaviour for the next requests; charges already in the windows stay.
     *
     * @param config the new configuration
     */
    public void reconfigure(MockProviderConfig config) {
        controller.reconfigure(config);
    }

    /**
     * Makes the next {@code times} calls answer {@code status} with the provider's body for it
     * (e.g. 500, 502, 503, or 529 {@code overloaded_error}), after any faults already queued. Forced
     * answers touch no window and take no concurrency slot.
     *
     * @param status an error status, 400 to 599
     * @param times how many calls, 0 or more
     */
    public void failNext(int status, int times) {
        faults.add(status, times);
    }

    /**
     * @return forced answers still queued
     */
    public int pendingFaults() {
        return faults.pending();
    }

    /** Drops every queued forced answer. */
    public void clearFaults() {
        faults.clear();
    }

    /**
     * @return calls to either endpoint, whatever the answer
     */
    public long totalCalls() {
        return stats.total();
    }

    /**
     * @return every HTTP request received since start or the last {@link #resetCounters()},
     *     whatever its method, path or answer (a provider may count any of them)
     */
    public long requestsReceived() {
        return received.get();
    }

    /**
     * @return calls answered with a 2xx status
     */
    public long successCount() {
        return stats.count(200, 299);
    }

    /**
     * @return calls answered with 429, including forced ones
     */
    public long rateLimitedCount() {
        return stats.count(429, 429);
    }

    /**
     * @param status an HTTP status
     * @return calls answered with it
     */
    public long countByStatus(int status) {
        return stats.count(status, status);
    }

    /**
     * @return requests being served right now
     */
    public int inFlight() {
        return controller.inFlight();
    }

    /**
     * @return the most requests served at once since start or the last {@link #resetCounters()}
     */
    public int maxConcurrencyObserved() {
        return controller.maxInFlight();
    }

    /**
     * @return the admitted requests, oldest first (the last {@value AdmissionLog#CAPACITY} at most)
     */
    public List<Admission> admissions() {
        return controller.log().snapshot();
    }

    /**
     * @param window a window length
     * @return the most admissions recorded in any {@code (t - window, t]}; at most the limit for an exact limiter
     */
    public long maxRequestsInAnyWindow(Duration window) {
        return controller.log().maxRequestsInAnyWindow(window);
    }

    /**
     * @param window a window length
     * @return the most tokens charged to recorded admissions in any {@code (t - window, t]}
     */
    public long maxTokensInAnyWindow(Duration window) {
        return controller.log().maxTokensInAnyWindow(window);
    }

    /** Sets the call counters to zero and forgets recorded admissions; the windows keep their charges. */
    public void resetCounters() {
        stats.reset();
        received.set(0);
        controller.resetCounters();
    }

    /** Empties the request and token windows, as if the provider had been idle for a full window. */
    public void resetWindows() {
        controller.resetWindows();
    }

    /** Stops the server. */
    @Override
    public void close() {
        app.stop();
    }
}
