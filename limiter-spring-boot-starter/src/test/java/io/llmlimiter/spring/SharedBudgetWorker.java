package io.llmlimiter.spring;

import org.springframework.ai.chat.model.ChatModel;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One JVM of {@link SharedBudgetTest}: a Spring Boot application with the starter and Spring AI's
 * OpenAI model, called from a few threads. Arguments: Redis URI, provider base URL, target, limits,
 * threads, calls per thread, a directory, this worker's name. Once started and warmed up by one
 * call it writes {@code <name>.ready} there and waits for {@code go}; then it writes
 * {@code ok <calls>} (or the first error) to {@code <name>.txt}.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class SharedBudgetWorker {

    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[4]);
        int calls = Integer.parseInt(args[5]);
        Path dir = Path.of(args[6]);
        Path out = dir.resolve(args[7] + ".txt");
        try (ConfigurableApplicationContext app = new SpringApplicationBuilder(SharedBudgetWorker.class)
                .web(WebApplicationType.NONE)
                .properties("spring.main.banner-mode=off", "logging.level.root=WARN",
                        "spring.ai.openai.api-key=test-key", "spring.ai.openai.base-url=" + args[1] + "/v1",
                        "spring.ai.openai.chat.options.model=gpt-4o-mini", "spring.ai.openai.chat.options.max-tokens=20",
                        "llmlimiter.redis=" + args[0], "llmlimiter.targets[0].name=" + args[2],
                        "llmlimiter.targets[0].limits=" + args[3])
                .run()) {
            ChatModel model = app.getBean(ChatModel.class);
            // A fresh JVM's first call reaches the provider seconds after its admission (the OpenAI
            // SDK initialises itself in between; measured 1.5 to 3.4 s with three JVMs starting on
            // two busy cores), far beyond the delivery margin. One call, under the budget like every
            // other, warms it before the shared phase.
            if (!model.call("Warm up.").startsWith("mock answer")) {
                throw new IllegalStateException("unexpected warm-up answer");
            }
            Files.writeString(dir.resolve(args[7] + ".ready"), "ready");
            while (!Files.exists(dir.resolve("go"))) {
                Thread.sleep(20);
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < threads * calls; i++) {
                answers.add(pool.submit(() -> model.call("Share the budget.")));
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
