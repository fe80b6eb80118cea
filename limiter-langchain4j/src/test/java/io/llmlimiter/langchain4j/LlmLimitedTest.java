package io.llmlimiter.langchain4j;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.model.anthropic.AnthropicChatModel;
import dev.langchain4j.model.anthropic.AnthropicStreamingChatModel;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.ChatRequestOptions;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import io.llmlimiter.client.CallFailedException;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Targets;
import io.llmlimiter.server.mock.MockProvider;
import io.llmlimiter.server.mock.MockProviderConfig;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** LangChain4j's real OpenAI and Anthropic models, under the budget, against the mock provider over HTTP. */
@WithRedis
class LlmLimitedTest {

    private static final String MODEL = "gpt-4o-mini";

    private final RedisProcess redis;
    private MockProvider provider;
    private LlmLimiter limiter;
    private Target target;

    LlmLimitedTest(RedisProcess redis) {
        this.redis = redis;
    }

    @BeforeEach
    void start() {
        provider = MockProvider.start(MockProviderConfig.builder()
                .requests(20, Duration.ofSeconds(2)).tokens(100_000, Duration.ofSeconds(2))
                .maxOutputTokens(1000).build());
        // Each test has its own mock provider, on its own port, hence its own target.
        target = Targets.forEndpoint(URI.create(provider.baseUrl()), MODEL);
        limiter = LlmLimiter.builder().redis(redis.uri())
                .config(LimitConfig.builder(target).limits("requests=20/2s,tokens=100000/2s").build())
                .build();
    }

    @AfterEach
    void stop() {
        limiter.close();
        provider.close();
    }

    private OpenAiChatModel.OpenAiChatModelBuilder openAi() {
        return OpenAiChatModel.builder().baseUrl(provider.baseUrl() + "/v1").apiKey("test-key")
                .modelName(MODEL).maxTokens(40).maxRetries(0);
    }

    private Map<String, Long> stats() {
        return limiter.admin().stats(target);
    }

    @Test
    void aCallSucceedsAndItsUsageIsRecorded() {
        ChatModel model = LlmLimited.chatModel(openAi().build(), limiter, target);

        ChatResponse response = model.chat(ChatRequest.builder()
                .messages(UserMessage.from("Say hello to the rate limiter.")).build());

        assertThat(response.aiMessage().text()).startsWith("mock answer");
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(24); // 60% of max_tokens 40
        assertThat(provider.totalCalls()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(stats()).containsEntry("admitted", 1L).containsEntry("completed", 1L)
                    .containsEntry("actual_output_tokens", 24L)
                    .containsEntry("actual_input_tokens", (long) response.tokenUsage().inputTokenCount());
        });
    }

    @Test
    void theHeadersOfTheRawResponseReachTheLimiter() {
        // The provider allows 20 requests a minute and says so in x-ratelimit-limit-requests; the
        // limiter was configured with 100: the stated limit caps it for the whole fleet.
        provider.reconfigure(MockProviderConfig.builder().requests(20, Duration.ofMinutes(1))
                .tokens(100_000, Duration.ofMinutes(1)).build());
        Target minute = Targets.forEndpoint(URI.create(provider.baseUrl()), "gpt-4o");
        limiter.admin().putConfig(LimitConfig.builder(minute).limits("requests=100/60s").build());
        ChatModel model = LlmLimited.chatModel(openAi().modelName("gpt-4o").build(), limiter, minute);

        model.chat("hello");

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(limiter.admin().usage(minute).windows())
                .singleElement().satisfies(w -> {
                    assertThat(w.effective()).isEqualTo(20);
                    assertThat(w.reason()).isEqualTo("headers");
                }));
    }

    @Test
    void anAnthropicCallSucceedsAndItsUsageIsRecorded() {
        Target claude = Targets.forEndpoint(URI.create(provider.baseUrl()), "claude-sonnet-4-5");
        limiter.admin().putConfig(LimitConfig.builder(claude).limits("requests=20/2s,tokens=100000/2s").build());
        ChatModel model = LlmLimited.chatModel(AnthropicChatModel.builder().baseUrl(provider.baseUrl() + "/v1/")
                .apiKey("test-key").modelName("claude-sonnet-4-5").maxTokens(50).maxRetries(0).build(), limiter, claude);

        ChatResponse response = model.chat(ChatRequest.builder().messages(UserMessage.from("Hello.")).build());

        assertThat(response.aiMessage().text()).startsWith("mock answer");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(limiter.admin().stats(claude))
                .containsEntry("admitted", 1L).containsEntry("completed", 1L)
                .containsEntry("actual_output_tokens", 30L));
    }

    @Test
    void aRateLimitIsRetriedByTheLimiterAloneAndTheProviderSeesExactlyTheAttemptsCounted() {
        ChatModel model = LlmLimited.chatModel(openAi().build(), limiter, target);
        provider.failNext(429, 1);

        String answer = model.chat("hello");

        assertThat(answer).startsWith("mock answer");
        assertThat(provider.totalCalls()).isEqualTo(2);
        assertThat(provider.rateLimitedCount()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(stats())
                .containsEntry("admitted", 2L).containsEntry("provider_429", 1L).containsEntry("completed", 2L));
    }

    @Test
    void aModelLeftWithItsOwnRetriesWouldMakeMoreCallsThanTheBudgetCounted() {
        // The reason for maxRetries(0): LangChain4j's retries happen inside one admitted attempt.
        ChatModel model = LlmLimited.chatModel(openAi().maxRetries(2).build(), limiter, target);
        provider.failNext(429, 1);

        model.chat("hello");

        assertThat(provider.totalCalls()).isEqualTo(2);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(stats())
                .containsEntry("admitted", 1L).containsEntry("completed", 1L));
    }

    @Test
    void aBadRequestFailsAtOnceWithTheModelsOwnException() {
        ChatModel model = LlmLimited.chatModel(openAi().maxTokens(5000).build(), limiter, target);

        assertThatThrownBy(() -> model.chat("hello"))
                .isInstanceOf(InvalidRequestException.class)
                .satisfies(e -> assertThat(e.getSuppressed()).hasAtLeastOneElementOfType(CallFailedException.class));
        assertThat(provider.totalCalls()).isEqualTo(1);
        assertThat(provider.countByStatus(400)).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(stats()).containsEntry("admitted", 1L));
    }

    @Test
    void aStreamIsAdmittedOnceAndCompletesItsPermitWithTheFinalUsage() throws Exception {
        StreamingChatModel model = LlmLimited.streamingChatModel(OpenAiStreamingChatModel.builder()
                .baseUrl(provider.baseUrl() + "/v1").apiKey("test-key").modelName(MODEL).maxTokens(40)
                .build(), limiter, target);
        provider.failNext(429, 1);

        Collected c = collect(model, ChatRequest.builder().messages(UserMessage.from("Stream to me.")).build());

        ChatResponse response = c.done.get(20, TimeUnit.SECONDS);
        assertThat(String.join("", c.partials)).isEqualTo(response.aiMessage().text()).startsWith("mock answer");
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(24);
        assertThat(provider.totalCalls()).isEqualTo(2);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(stats())
                .containsEntry("admitted", 2L).containsEntry("provider_429", 1L).containsEntry("completed", 2L)
                .containsEntry("actual_output_tokens", 24L));
    }

    @Test
    void anAnthropicStreamReportsItsMessageDeltaUsage() throws Exception {
        Target claude = Targets.forEndpoint(URI.create(provider.baseUrl()), "claude-sonnet-4-5");
        limiter.admin().putConfig(LimitConfig.builder(claude).limits("requests=20/2s,tokens=100000/2s").build());
        StreamingChatModel model = LlmLimited.streamingChatModel(AnthropicStreamingChatModel.builder()
                .baseUrl(provider.baseUrl() + "/v1/").apiKey("test-key").modelName("claude-sonnet-4-5")
                .maxTokens(50).build(), limiter, claude);

        Collected c = collect(model, ChatRequest.builder().messages(UserMessage.from("Stream to me.")).build());

        ChatResponse response = c.done.get(20, TimeUnit.SECONDS);
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(30);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(limiter.admin().stats(claude))
                .containsEntry("admitted", 1L).containsEntry("completed", 1L)
                .containsEntry("actual_output_tokens", 30L));
    }

    @Test
    void aStreamThatFailsForGoodReachesTheHandlerOnce() throws Exception {
        StreamingChatModel model = LlmLimited.streamingChatModel(OpenAiStreamingChatModel.builder()
                .baseUrl(provider.baseUrl() + "/v1").apiKey("test-key").modelName(MODEL).maxTokens(5000)
                .build(), limiter, target);

        Collected c = collect(model, ChatRequest.builder().messages(UserMessage.from("Too long.")).build());

        assertThat(c.done).failsWithin(Duration.ofSeconds(20)).withThrowableOfType(Exception.class)
                .withCauseInstanceOf(InvalidRequestException.class);
        assertThat(provider.totalCalls()).isEqualTo(1);
    }

    @Test
    void aTargetFunctionSeesTheTenantAndPriorityOfTheCall() {
        AtomicReference<LlmLimited.Call> seen = new AtomicReference<>();
        ChatModel model = LlmLimited.builder(limiter).targets((call, modelName) -> {
            seen.set(call);
            return Targets.of(target.provider(), modelName);
        }).build(openAi().build());

        model.chat(ChatRequest.builder().messages(UserMessage.from("hi")).build(), ChatRequestOptions.builder()
                .addListenerAttribute(LlmLimited.TENANT, "acme").addListenerAttribute(LlmLimited.PRIORITY, 3).build());

        assertThat(seen.get().tenant()).isEqualTo("acme");
        assertThat(seen.get().priority()).isEqualTo(3);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(stats()).containsEntry("admitted", 1L));
    }

    private static Collected collect(StreamingChatModel model, ChatRequest request) {
        Collected c = new Collected();
        model.chat(request, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                c.partials.add(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                c.done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                if (!c.done.completeExceptionally(error)) {
                    c.errors.add(error);
                }
            }
        });
        return c;
    }

    private static final class Collected {
        final List<String> partials = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<ChatResponse> done = new CompletableFuture<>();
    }
}
