package io.llmlimiter.okhttp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.net.URI;
import java.time.Duration;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/** The README's "With OkHttp" example, as written there, against the mock provider. */
@WithRedis
class ReadmeOkHttpExampleTest {

    @Test
    void theReadmeExampleRuns(RedisProcess redis) throws Exception {
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             MockProvider provider = MockProvider.start(MockProviderConfig.builder().completionTokens(5).build())) {
            String baseUrl = provider.baseUrl();
            Target gpt4o = Targets.forEndpoint(URI.create(baseUrl), "gpt-4o");
            limiter.admin().putConfig(LimitConfig.builder(gpt4o).limits("requests=10/1s").build());
            String json = "{\"model\":\"gpt-4o\",\"max_tokens\":500,\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";

            OkHttpClient http = new OkHttpClient.Builder().addInterceptor(LlmLimiterInterceptor.of(limiter)).build();
            Request request = new Request.Builder().url(baseUrl + "/v1/chat/completions")
                    .post(RequestBody.create(json, MediaType.get("application/json"))).build();
            try (Response response = http.newCall(request).execute()) {
                System.out.println(response.body().string());
            }

            await().atMost(Duration.ofSeconds(5))
                    .until(() -> limiter.admin().stats(gpt4o).getOrDefault("actual_output_tokens", 0L) == 5);
            assertThat(limiter.admin().stats(gpt4o)).containsEntry("admitted", 1L);
        }
    }
}
