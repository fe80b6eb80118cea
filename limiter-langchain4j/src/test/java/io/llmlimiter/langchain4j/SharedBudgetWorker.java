package io.llmlimiter.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.openai.OpenAiChatModel;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One JVM of {@link SharedBudgetTest}: a LangChain4j OpenAI model under the budget, called from a
 * few threads. Arguments: Redis URI, provider base URL, model, limits, threads, calls per thread,
 * a directory, this worker's name. Once started and warmed up by one call it writes
 * {@code <name>.ready} there and waits for {@code go}; then it writes {@code ok <calls>} (or the
 * first error) to {@code <name>.txt}.
 */
public final class SharedBudgetWorker {

    private SharedBudgetWorker() {
    }

    public static void main(String[] args) throws Exception {
        String redis = args[0];
        String baseUrl = args[1];
        String modelName = args[2];
        String limits = args[3];
        int threads = Integer.parseInt(args[4]);
        int calls = Integer.parseInt(args[5]);
        Path dir = Path.of(args[6]);
        Path out = dir.resolve(args[7] + ".txt");
        Target target = Targets.forEndpoint(URI.create(baseUrl), modelName);
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis)
                .config(LimitConfig.builder(target).limits(limits).build()).build()) {
            ChatModel model = LlmLimited.chatModel(OpenAiChatModel.builder().baseUrl(baseUrl + "/v1")
                    .apiKey("test-key").modelName(modelName).maxTokens(20).maxRetries(0).build(), limiter, target);
            // A fresh JVM's first call reaches the provider long after its admission (the HTTP client
            // and JSON mapping initialise in between), beyond the delivery margin when three JVMs
            // start on a busy machine. One call, under the budget like every other, warms it first.
            if (!model.chat("Warm up.").startsWith("mock answer")) {
                throw new IllegalStateException("unexpected warm-up answer");
            }
            Files.writeString(dir.resolve(args[7] + ".ready"), "ready");
            while (!Files.exists(dir.resolve("go"))) {
                Thread.sleep(20);
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < threads * calls; i++) {
                answers.add(pool.submit(() -> model.chat("Share the budget.")));
            }
            int ok = 0;
            for (Future<String> a : answers) {
                if (a.get().startsWith("mock answer")) {
                    ok++;
                }
            }
            pool.shutdown();
            Files.writeString(out, "ok " + ok);
        } catch (Exception e) {
            Files.writeString(out, "error " + e);
            throw e;
        }
        System.exit(0);
    }
}
