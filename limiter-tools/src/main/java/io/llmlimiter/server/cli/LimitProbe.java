package io.llmlimiter.server.cli;

import io.llmlimiter.client.Resource;
import io.llmlimiter.client.retry.ProviderSignals;
import io.llmlimiter.client.retry.SignalResource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;

/**
 * Discovers an endpoint's request, token and concurrency limits, the seed's
 * {@code test_actual_api_limits} done with care for the provider:
 * <ol>
 *   <li>one call, then two at once: if the answers carry rate-limit headers, the request and token
 *       limits and their windows are read from them (see {@link HeaderLimits});</li>
 *   <li>{@code maxConcurrency} calls at once: 429s whose signals name concurrency (headers with room
 *       in every budget, or the error's type or code), or 429s that name nothing but stop as soon as
 *       the calls in flight end, give the concurrency cap;</li>
 *   <li>without request headers, a burst until the first request 429: the calls admitted before it
 *       are the limit, and its {@code Retry-After} (or polling until a call succeeds) the window;</li>
 *   <li>without token headers, calls of growing then bisected {@code max_tokens}: a 429 "too large"
 *       means more than the limit, an admission or a 429 that names a wait means at most the
 *       limit (see {@link TokenRamp}).</li>
 * </ol>
 * Never more than the budget of calls. Not thread-safe: one probe runs once.
 */
public final class LimitProbe {

    private final ProbeClient client;
    private final int maxConcurrency;
    private final List<String> notes = new ArrayList<>();
    private final Map<Resource, Finding> limits = new EnumMap<>(Resource.class);
    private Integer concurrency;
    private boolean concurrencyLowerBound;

    /**
     * @param client sends the calls, within the budget
     * @param maxConcurrency the most calls tried at once when looking for a concurrency cap
     */
    public LimitProbe(ProbeClient client, int maxConcurrency) {
        this.client = client;
        this.maxConcurrency = maxConcurrency;
    }

    /** The endpoint does not work (wrong URL, key or model): probing would mean nothing. */
    public static final class ProbeFailed extends Exception {
        private static final long serialVersionUID = 1L;

        ProbeFailed(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Runs the probe.
     *
     * @return what was observed
     * @throws ProbeFailed when the endpoint answers with an error other than a rate limit
     * @throws InterruptedException when interrupted
     */
    public ProbeReport run() throws ProbeFailed, InterruptedException {
        try {
            readHeaders();
            probeConcurrency();
            if (!limits.containsKey(Resource.REQUESTS)) {
                int threads = concurrency == null || concurrencyLowerBound ? 4 : Math.max(1, concurrency);
                new RequestRamp(client, threads, notes).run().ifPresent(f -> limits.put(Resource.REQUESTS, f));
            }
            if (!limits.containsKey(Resource.TOKENS) && !limits.containsKey(Resource.INPUT_TOKENS)) {
                Optional<Finding> tokens = new TokenRamp(client, limits.get(Resource.REQUESTS), notes).run();
                tokens.ifPresent(f -> limits.put(Resource.TOKENS, f));
            }
        } catch (ProbeClient.OutOfCalls e) {
            notes.add("stopped early: " + e.getMessage() + "; what was not measured is missing or a lower bound");
        }
        return new ProbeReport(client.endpoint(), limits, concurrency, concurrencyLowerBound, client.calls(), notes);
    }

    private void readHeaders() throws ProbeFailed, InterruptedException {
        client.warmUp(1);
        ProbeCall first = admitOne(1);
        if (HeaderLimits.reported(first.signals()).isEmpty()) {
            notes.add("no rate-limit headers: limits are measured from 429s");
            return;
        }
        List<ProbeCall> pair = atOnce(2);
        limits.putAll(HeaderLimits.infer(pair.get(0).signals(), pair.get(1).signals(), notes));
    }

    /** One tiny call, waiting out rate limits a few times; any other error ends the probe. */
    private ProbeCall admitOne(long maxTokens) throws ProbeFailed, InterruptedException {
        for (int i = 0; ; i++) {
            ProbeCall c = client.call(maxTokens);
            if (c.kind() == ProbeCall.Kind.ERROR) {
                throw new ProbeFailed("the endpoint answered " + (c.status() < 0 ? "" : "HTTP " + c.status() + ": ")
                        + c.message());
            }
            if (c.admitted() || i == 4) {
                return c;
            }
            sleep(c.retryAfter().orElse(Duration.ofSeconds(1)));
        }
    }

    private void probeConcurrency() throws InterruptedException {
        Finding requests = limits.get(Resource.REQUESTS);
        int n = Math.min(maxConcurrency, client.remaining());
        if (requests != null) {
            // Room in the request window for every call at once, so 429s can only mean concurrency.
            n = (int) Math.min(n, requests.amount());
            List<ProbeCall> made = client.calls();
            Optional<ProviderSignals.Budget> latest =
                    made.get(made.size() - 1).signals().budget(SignalResource.REQUESTS);
            if (latest.isEmpty() || latest.get().remaining().orElse(0) < n) {
                sleep(latest.flatMap(ProviderSignals.Budget::resetIn).orElse(requests.window()).plusMillis(50));
            }
        }
        if (n < 2) {
            return;
        }
        List<ProbeCall> burst = atOnce(n);
        List<ProbeCall> admitted = burst.stream().filter(ProbeCall::admitted).toList();
        List<ProbeCall> refused = new ArrayList<>(burst.stream()
                .filter(c -> c.kind() == ProbeCall.Kind.CONCURRENCY).toList());
        List<ProbeCall> unclear = burst.stream().filter(c -> c.kind() == ProbeCall.Kind.RATE_LIMITED).toList();
        if (!unclear.isEmpty() && !admitted.isEmpty() && freesWhenCallsEnd()) {
            refused.addAll(client.resolve(unclear, ProbeCall.Kind.CONCURRENCY));
        }
        if (!refused.isEmpty()) {
            concurrency = Math.max(1, inFlightAtRefusals(admitted, refused));
            return;
        }
        int overlap = maxOverlap(admitted);
        if (overlap >= 2) {
            concurrency = overlap;
            concurrencyLowerBound = true;
            notes.add("no concurrency limit up to " + overlap + " calls at once (raise --max-concurrency to try more)");
        }
    }

    /**
     * Tells a concurrency cap from a request window when the provider's 429s do not say which: every
     * call of the burst has ended now, so a cap on calls at once has freed, while a request window
     * that refused them is still full. One more call decides.
     */
    private boolean freesWhenCallsEnd() throws InterruptedException {
        ProbeCall next = client.call(1);
        if (next.admitted()) {
            notes.add("concurrency: 429s that named no limit stopped as soon as the calls in flight ended");
            return true;
        }
        return false;
    }

    /** {@code n} tiny calls released at the same moment. */
    List<ProbeCall> atOnce(int n) throws InterruptedException {
        client.warmUp(n);
        CountDownLatch go = new CountDownLatch(1);
        List<ProbeCall> out = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(() -> {
                try {
                    go.await();
                    ProbeCall c = client.call(1);
                    synchronized (out) {
                        out.add(c);
                    }
                } catch (ProbeClient.OutOfCalls | InterruptedException e) {
                    // Fewer calls: the caller works with what was made.
                }
            }, "probe-at-once-" + i);
            t.start();
            threads.add(t);
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        if (out.size() < Math.min(n, 2)) {
            throw new ProbeClient.OutOfCalls(client.used());
        }
        return out;
    }

    /**
     * How many calls were running when the provider refused one for concurrency: for each refusal,
     * the admitted calls sent before its answer came back and still running then; the most common
     * count (the smaller on a tie), so one call delayed on its way does not skew it.
     *
     * @param admitted the admitted calls of a burst
     * @param refused the calls of the burst refused for concurrency
     * @return the concurrency cap the provider enforced
     */
    static int inFlightAtRefusals(List<ProbeCall> admitted, List<ProbeCall> refused) {
        Map<Integer, Integer> votes = new TreeMap<>();
        for (ProbeCall r : refused) {
            int n = 0;
            for (ProbeCall c : admitted) {
                if (c.sentNanos() - r.doneNanos() <= 0 && c.doneNanos() - r.doneNanos() >= 0) {
                    n++;
                }
            }
            votes.merge(n, 1, Integer::sum);
        }
        int best = 0;
        int bestVotes = 0;
        for (Map.Entry<Integer, Integer> v : votes.entrySet()) {
            if (v.getValue() > bestVotes) {
                best = v.getKey();
                bestVotes = v.getValue();
            }
        }
        return best;
    }

    /**
     * @param calls admitted calls
     * @return the most of them that were running at the same moment
     */
    static int maxOverlap(List<ProbeCall> calls) {
        int best = 0;
        for (ProbeCall c : calls) {
            int n = 0;
            for (ProbeCall o : calls) {
                if (o.sentNanos() <= c.sentNanos() && o.doneNanos() > c.sentNanos()) {
                    n++;
                }
            }
            best = Math.max(best, n);
        }
        return best;
    }

    static void sleep(Duration d) throws InterruptedException {
        if (!d.isNegative() && !d.isZero()) {
            Thread.sleep(d.toMillis(), d.toNanosPart() % 1_000_000);
        }
    }
}
