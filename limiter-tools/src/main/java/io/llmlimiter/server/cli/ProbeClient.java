package io.llmlimiter.server.cli;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends the probe's calls within its budget ({@code --max-calls}) and keeps every call it made, so
 * that the probe can count what the provider admitted in a window. Each call has a tiny fixed
 * prompt; its {@code max_tokens} sets its charge. This class is thread-safe.
 */
public final class ProbeClient {

    /** The probe's prompt size in tokens: small, so request probing costs few tokens. */
    static final int PROMPT_TOKENS = 8;

    private final ChatClient client;
    private final int maxCalls;
    private final String prompt = ChatClient.prompt(PROMPT_TOKENS);
    private final AtomicInteger used = new AtomicInteger();
    private final List<ProbeCall> calls = new ArrayList<>();

    /** The budget of calls is spent. This class is immutable and thread-safe. */
    public static final class OutOfCalls extends RuntimeException {
        private static final long serialVersionUID = 1L;

        OutOfCalls(int maxCalls) {
            super("the budget of " + maxCalls + " calls (--max-calls) is spent", null, false, false);
        }
    }

    /**
     * @param client the chat client
     * @param maxCalls the most calls to make
     */
    public ProbeClient(ChatClient client, int maxCalls) {
        this.client = client;
        this.maxCalls = maxCalls;
    }

    /**
     * Sends one call.
     *
     * @param maxTokens its {@code max_tokens}
     * @return the call, classified
     * @throws OutOfCalls when the budget is spent
     * @throws InterruptedException when interrupted
     */
    public ProbeCall call(long maxTokens) throws InterruptedException {
        if (used.incrementAndGet() > maxCalls) {
            used.decrementAndGet();
            throw new OutOfCalls(maxCalls);
        }
        long charge = PROMPT_TOKENS + maxTokens;
        long sent = System.nanoTime();
        ProbeCall call;
        try {
            HttpResponse<String> r = client.send(prompt, maxTokens);
            call = ProbeCall.of(r, charge, sent, System.nanoTime());
        } catch (IOException e) {
            call = ProbeCall.failed(e, charge, sent);
        }
        synchronized (calls) {
            calls.add(call);
        }
        return call;
    }

    /**
     * Opens connections ahead of calls made at once, so they reach the provider together: GETs
     * only (see {@link ChatClient#warmUp(int)}). Like every call of the probe, they go outside any
     * budget.
     *
     * @param connections how many
     */
    public void warmUp(int connections) {
        client.warmUp(connections);
    }

    /**
     * Records what the probe found out about calls whose 429 named no limit.
     *
     * @param made calls made earlier, as returned by {@link #call(long)}
     * @param resolved what their refusals meant
     * @return the calls with that meaning
     */
    public List<ProbeCall> resolve(List<ProbeCall> made, ProbeCall.Kind resolved) {
        List<ProbeCall> out = new ArrayList<>();
        synchronized (calls) {
            for (ProbeCall c : made) {
                int i = calls.indexOf(c);
                ProbeCall r = c.as(resolved);
                if (i >= 0) {
                    calls.set(i, r);
                }
                out.add(r);
            }
        }
        return out;
    }

    /** @return calls made so far */
    public int used() {
        return used.get();
    }

    /** @return calls left in the budget */
    public int remaining() {
        return maxCalls - used.get();
    }

    /** @return every call made so far, in the order they finished */
    public List<ProbeCall> calls() {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    /** @return the endpoint probed */
    public String endpoint() {
        return client.endpoint().toString();
    }
}
