package io.llmlimiter.anthropic;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.models.messages.MessageCreateParams;
import io.llmlimiter.client.LlmLimiter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker JVM of the multi-process test: threads call the provider through the limited SDK client
 * from a common start time, then print {@code ok N errors M}.
 *
 * <p>Arguments: redisUri baseUrl model threads callsPerThread startEpochMillis
 */
public final class AnthropicWorker {

    private AnthropicWorker() {
    }

    public static void main(String[] args) throws Exception {
        String redis = args[0];
        String baseUrl = args[1];
        String model = args[2];
        int threads = Integer.parseInt(args[3]);
        int calls = Integer.parseInt(args[4]);
        long start = Long.parseLong(args[5]);
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis).build()) {
            AnthropicClient client = LimitedAnthropic.client(limiter,
                    AnthropicOkHttpClient.builder().apiKey("test-key").baseUrl(baseUrl).build());
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(() -> {
                    try {
                        Thread.sleep(Math.max(0, start - System.currentTimeMillis()));
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int c = 0; c < calls; c++) {
                        try {
                            client.messages().create(MessageCreateParams.builder().model(model).maxTokens(50)
                                    .addUserMessage("Say something short.").build());
                            ok.incrementAndGet();
                        } catch (RuntimeException e) {
                            errors.incrementAndGet();
                            System.out.println("ERROR " + e);
                        }
                    }
                });
                t.start();
                workers.add(t);
            }
            for (Thread t : workers) {
                t.join();
            }
            client.close();
        }
        System.out.println("ok " + ok.get() + " errors " + errors.get());
    }
}
