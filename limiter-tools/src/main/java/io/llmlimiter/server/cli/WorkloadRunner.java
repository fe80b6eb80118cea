package io.llmlimiter.server.cli;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterException;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.ModelPrice;
import io.llmlimiter.client.PriceTable;
import io.llmlimiter.client.TokenEstimator;
import io.llmlimiter.client.Usage;
import io.llmlimiter.client.internal.Pricing;
import io.llmlimiter.client.retry.HttpStatusException;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a workload's calls in this JVM: {@code threads} threads take calls from a shared count until
 * none are left. Through the limiter each call is one {@link LlmLimiter#execute}, which reports the
 * response headers and the usage block; naively each call is sent at once and retried a fixed
 * number of times at a fixed backoff, whatever the provider said. This class is thread-safe; one
 * instance runs one workload at a time.
 */
public final class WorkloadRunner implements AutoCloseable {

    private final WorkloadSpec spec;
    private final ChatClient client;
    private final LlmLimiter limiter;
    private final String prompt;
    private final Estimate estimate;
    /** What a call costs: the target's config prices, else the price table's; null when unknown. */
    private final ModelPrice price;

    /**
     * Connects to Redis (unless naive) and prepares the prompt and its estimate, so that the first
     * call does not pay for loading the tokenizer. Sends nothing to the provider: every request
     * the workload sends is one of its calls, through the limiter unless naive.
     *
     * @param spec what to run
     * @throws io.llmlimiter.client.LimiterUnavailableException when Redis refuses the connection
     */
    public WorkloadRunner(WorkloadSpec spec) {
        this.spec = spec;
        String key = spec.apiKeyEnv() == null ? null : System.getenv(spec.apiKeyEnv());
        this.client = new ChatClient(spec.baseUrl(), spec.target().model(), key, spec.timeout());
        this.prompt = ChatClient.prompt(spec.promptTokens());
        // The prompt's words are one token each, so this matches both the tokenizer and a
        // provider that estimates four characters per token.
        int promptTokens = TokenEstimator.forModel(spec.target().model()).countTokens(prompt);
        this.estimate = Estimate.of(promptTokens, spec.maxTokens());
        this.limiter = spec.naive() ? null : limiter(spec);
        LimitConfig known = spec.config();
        // Nothing goes to the provider before the run: a warm-up request bypasses the budget, and
        // providers may count it (OpenAI counts refused requests toward its per-minute limit).
        if (limiter != null) {
            try {
                // Loads the config and usage paths (and their scripts) without charging the budget.
                LimitConfig inRedis = limiter.admin().config(spec.target()).orElse(null);
                known = inRedis != null && inRedis.prices() != null ? inRedis : known;
                limiter.admin().usage(spec.target());
            } catch (LimiterException e) {
                // Redis is away for now: the calls wait for it within their deadlines.
            }
        }
        this.price = known != null && known.prices() != null ? known.prices()
                : PriceTable.bundled().find(spec.target()).orElse(null);
    }

    /** Adds the cost of a successful response from its usage block, if it has one. */
    private void cost(Tally tally, String body) {
        if (price == null) {
            return;
        }
        Usage.fromResponseBody(body).ifPresent(u -> tally.cost(price.microUsd(Pricing.uncachedInput(spec.target(), u),
                u.cacheReadTokens(), u.cacheWriteTokens(), u.outputTokens())));
    }

    /** A worker given its target's config re-creates it when Redis loses it (restart without persistence). */
    private static LlmLimiter limiter(WorkloadSpec spec) {
        LlmLimiter.Builder b = LlmLimiter.builder().redis(spec.redisUri());
        if (spec.config() != null) {
            b.config(spec.config());
        }
        return b.build();
    }

    /** @return the limiter this runner calls through, or null when naive */
    public LlmLimiter limiter() {
        return limiter;
    }

    /**
     * Runs {@code calls} calls and waits for all of them.
     *
     * @param calls how many calls, 0 or more
     * @param tally counters to update as calls finish, read by progress reporting
     * @param theoreticalMinSeconds the fastest these calls can finish, or null
     * @return the summary of this process's part
     * @throws InterruptedException when interrupted while waiting for the threads
     */
    public Summary run(long calls, Tally tally, Double theoreticalMinSeconds) throws InterruptedException {
        AtomicLong next = new AtomicLong();
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < spec.threads(); i++) {
            Thread t = new Thread(() -> {
                while (next.getAndIncrement() < calls && !Thread.currentThread().isInterrupted()) {
                    if (spec.naive()) {
                        callNaively(tally);
                    } else {
                        callThroughLimiter(tally);
                    }
                }
            }, "workload-" + spec.mode() + "-" + i);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        try {
            for (Thread t : threads) {
                t.join();
            }
        } catch (InterruptedException e) {
            threads.forEach(Thread::interrupt);
            throw e;
        }
        double wall = (System.nanoTime() - start) / 1e9;
        return Summary.of(spec.mode(), spec.target().toString(), 1, spec.threads(), calls, tally.snapshot(),
                tally.errors(), wall, theoreticalMinSeconds, tally.costMicros());
    }

    private void callThroughLimiter(Tally tally) {
        try {
            String body = limiter.execute(spec.target(), spec.tenant(), estimate, ctx -> {
                if (ctx.attempt() > 1) {
                    tally.retried();
                }
                HttpResponse<String> r = client.send(prompt, spec.maxTokens());
                if (r.statusCode() == 429) {
                    tally.provider429();
                }
                if (r.statusCode() >= 300) {
                    throw new HttpStatusException(r);
                }
                ctx.headers(r.headers().map());
                Usage.fromResponseBody(r.body()).ifPresent(ctx::usage);
                return r.body();
            });
            tally.succeeded();
            cost(tally, body);
        } catch (LimiterException e) {
            tally.failed(e.getMessage());
        }
    }

    private void callNaively(Tally tally) {
        for (int attempt = 0; ; attempt++) {
            int status;
            String why;
            String body = null;
            try {
                HttpResponse<String> r = client.send(prompt, spec.maxTokens());
                status = r.statusCode();
                body = r.body();
                why = "HTTP " + status;
            } catch (IOException e) {
                status = -1;
                why = e.getClass().getSimpleName() + ": " + e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                tally.failed("interrupted");
                return;
            }
            if (status >= 200 && status < 300) {
                tally.succeeded();
                cost(tally, body);
                return;
            }
            if (status == 429) {
                tally.provider429();
            }
            boolean retryable = status == -1 || status == 408 || status == 429 || status >= 500;
            if (!retryable || attempt >= spec.naiveRetries()) {
                tally.failed(why + (retryable ? " after " + (attempt + 1) + " attempts" : ""));
                return;
            }
            tally.retried();
            try {
                Thread.sleep(spec.naiveBackoff().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                tally.failed("interrupted");
                return;
            }
        }
    }

    /** Closes the limiter's Redis connections. */
    @Override
    public void close() {
        if (limiter != null) {
            limiter.close();
        }
    }
}
