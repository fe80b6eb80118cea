package io.llmlimiter.server.cli;

import io.llmlimiter.client.Limit;
import java.time.Duration;
import java.util.List;

/**
 * The theoretical floor of a run, the one definition {@code demo} and {@code workload} share: the
 * least wall time in which a provider with these limits lets {@code calls} calls finish, whoever
 * sends them.
 *
 * <p>A sliding log admits a full window at once: a limit of {@code A} per window {@code W}, with
 * each call costing {@code c} of it (requests 1, tokens prompt plus {@code max_tokens}, input or
 * output tokens their part), lets {@code k = floor(A / c)} calls in at time 0, the next {@code k}
 * one window later, and so on, so the last batch starts at {@code (ceil(calls / k) - 1) * W}. A
 * concurrency cap {@code C} lets calls run in waves of {@code C}, so the last wave starts at
 * {@code (ceil(calls / C) - 1) * latency}. The last call then takes one latency. The floor is the
 * latest of these starts plus that latency. It is a lower bound: no schedule, however clever,
 * finishes sooner. This class is stateless and thread-safe.
 */
public final class Floor {

    private Floor() {
    }

    /**
     * @param limits the provider's limits
     * @param maxConcurrent the provider's concurrency cap, 0 for none
     * @param calls calls in the run
     * @param promptTokens each call's prompt tokens
     * @param maxTokens each call's {@code max_tokens}
     * @param latency the fastest a call can take (zero when unknown, which only lowers the floor)
     * @return seconds, or null when nothing bounds the run (no limit, or no latency with only a
     *     concurrency cap) or when a single call exceeds a limit's whole window and can never pass
     */
    public static Double seconds(List<Limit> limits, int maxConcurrent, long calls, long promptTokens, long maxTokens,
                                 Duration latency) {
        double latencySeconds = CliSupport.seconds(latency);
        if (calls <= 0) {
            return 0.0;
        }
        double lastStart = 0;
        for (Limit l : limits) {
            long cost = switch (l.resource()) {
                case REQUESTS -> 1;
                case TOKENS -> promptTokens + maxTokens;
                case INPUT_TOKENS -> promptTokens;
                case OUTPUT_TOKENS -> maxTokens;
            };
            long perWindow = l.amount() / Math.max(1, cost);
            if (perWindow == 0) {
                return null;
            }
            long batches = (calls + perWindow - 1) / perWindow;
            lastStart = Math.max(lastStart, (batches - 1) * CliSupport.seconds(l.window()));
        }
        if (maxConcurrent > 0) {
            long waves = (calls + maxConcurrent - 1) / maxConcurrent;
            lastStart = Math.max(lastStart, (waves - 1) * latencySeconds);
        }
        double floor = lastStart + latencySeconds;
        return floor > 0 ? floor : null;
    }
}
