package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TokenEstimatorTest {

    @Test
    void helloWorldIsTwoTokensInCl100k() {
        assertThat(TokenEstimator.cl100k().countTokens("hello world")).isEqualTo(2);
        assertThat(TokenEstimator.forModel("gpt-4").countTokens("hello world")).isEqualTo(2);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "gpt-4o, o200k_base", "gpt-4o-mini, o200k_base", "chatgpt-4o-latest, o200k_base",
        "gpt-4.1-nano, o200k_base", "gpt-5, o200k_base", "o1, o200k_base", "o3-mini, o200k_base",
        "o4-mini, o200k_base", "openai/GPT-4o, o200k_base",
        "gpt-4, cl100k_base", "gpt-4-turbo, cl100k_base", "gpt-3.5-turbo, cl100k_base",
        "claude-sonnet-4-5, cl100k_base", "gemini-2.5-pro, cl100k_base", "o1x, cl100k_base"})
    void modelsMapToTheirEncoding(String model, String encoding) {
        assertThat(TokenEstimator.forModel(model).encodingName()).isEqualTo(encoding);
    }

    @Test
    void estimateIsPromptTokensPlusMaxTokens() {
        TokenEstimator estimator = TokenEstimator.cl100k();

        assertThat(estimator.estimate("hello world", 100)).isEqualTo(102L);
        assertThat(estimator.estimate("", 0)).isZero();
        assertThatThrownBy(() -> estimator.estimate("hi", -1)).hasMessageContaining("maxTokens");
    }

    @Test
    void messagesAddThreeTokensEachPlusThreeForReplyPriming() {
        TokenEstimator estimator = TokenEstimator.cl100k();

        assertThat(estimator.countMessages(List.of("hello world", "hello world"))).isEqualTo(2 * (3 + 2) + 3);
        assertThat(estimator.countMessages(List.of())).isEqualTo(3);
    }

    @Test
    void chatCountsIncludeTheRoleTokens() {
        TokenEstimator estimator = TokenEstimator.cl100k();
        int user = estimator.countTokens("user");

        assertThat(estimator.countChat(List.of(Map.entry("user", "hello world")))).isEqualTo(3 + user + 2 + 3);
    }

    @Test
    void specialTokenMarkersInUserTextAreCountedNotRejected() {
        assertThat(TokenEstimator.o200k().countTokens("<|endoftext|>")).isPositive();
    }

    @Test
    void estimatorsAreSharedAndGiveTheSameCountsFromManyThreads() {
        TokenEstimator estimator = TokenEstimator.forModel("gpt-4o");
        String text = "The quick brown fox jumps over the lazy dog. ".repeat(20);
        int expected = estimator.countTokens(text);

        assertThat(TokenEstimator.forModel("gpt-4o-mini")).isSameAs(estimator);
        assertThat(IntStream.range(0, 64).parallel().map(i -> estimator.countTokens(text)).distinct().toArray())
                .containsExactly(expected);
    }
}
