package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

class TargetsTest {

    @Test
    void knownProvidersAreNamedByTheirApiHost() {
        assertThat(Targets.forEndpoint(URI.create("https://api.openai.com/v1"), "gpt-4o")).hasToString("openai/gpt-4o");
        assertThat(Targets.forEndpoint(URI.create("https://api.anthropic.com"), "claude-sonnet-4-5"))
                .hasToString("anthropic/claude-sonnet-4-5");
        assertThat(Targets.forEndpoint(URI.create("https://openrouter.ai/api/v1"), "openai/gpt-4o"))
                .hasToString("openrouter/openai/gpt-4o");
        assertThat(Targets.forEndpoint(URI.create("https://API.DeepSeek.com"), "deepseek-chat"))
                .hasToString("deepseek/deepseek-chat");
    }

    @Test
    void otherEndpointsAreNamedByHostAndPort() {
        assertThat(Targets.providerOf(URI.create("http://127.0.0.1:8080/v1"))).isEqualTo("127.0.0.1:8080");
        assertThat(Targets.providerOf(URI.create("https://llm-gateway.internal/v1"))).isEqualTo("llm-gateway.internal");
        assertThat(Targets.providerOf(URI.create("http://gateway:80"))).isEqualTo("gateway");
        assertThat(Targets.forEndpoint(URI.create("http://localhost:4000"), "together/meta-llama/Llama-3.3-70B"))
                .isEqualTo(new Target("localhost:4000", "together/meta-llama/Llama-3.3-70B"));
    }

    @Test
    void badNamesAreRefusedNamingThePart() {
        assertThatThrownBy(() -> Targets.providerOf(URI.create("/v1"))).hasMessageContaining("endpoint");
        assertThatThrownBy(() -> Targets.of("openai", "gpt 4o")).hasMessageContaining("model");
        assertThat(Targets.of(" OpenAI ", "gpt-4o")).hasToString("openai/gpt-4o");
    }
}
