package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.llmlimiter.client.internal.Keys;
import org.junit.jupiter.api.Test;

/** Target names: the provider is the first segment, the model may hold further segments. */
class TargetTest {

    @Test
    void theProviderIsTheFirstSegmentAndTheRestIsTheModel() {
        Target openRouter = Target.parse("openrouter/openai/gpt-4o");
        assertThat(openRouter).isEqualTo(new Target("openrouter", "openai/gpt-4o"));
        assertThat(openRouter.toString()).isEqualTo("openrouter/openai/gpt-4o");

        Target together = Target.parse("together/meta-llama/Llama-3.3-70B-Instruct-Turbo");
        assertThat(together.provider()).isEqualTo("together");
        assertThat(together.model()).isEqualTo("meta-llama/Llama-3.3-70B-Instruct-Turbo");
        assertThat(Target.parse("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0").model())
                .isEqualTo("anthropic.claude-3-5-sonnet-20240620-v1:0");
    }

    @Test
    void allKeysOfATargetWithSlashesShareOneHashTag() {
        Keys keys = Keys.of(Target.parse("openrouter/openai/gpt-4o"));
        assertThat(keys.keys()).hasSize(10).allSatisfy(k -> assertThat(k).startsWith("llmlim:{openrouter/openai/gpt-4o}:"));
        assertThat(keys.channel()).isEqualTo("llmlim:{openrouter/openai/gpt-4o}:wake");
    }

    @Test
    void badNamesAreRefusedNamingThePart() {
        String[][] cases = {
            {"openai", "target must be provider/model"},
            {"/gpt-4o", "provider must be"},
            {"open ai/gpt-4o", "provider must be"},
            {"openai/", "model must be"},
            {"openai//gpt-4o", "model must be"},
            {"openai/gpt-4o/", "model must be"},
            {"openai/x/../y", "model must be"},
            {"openai/../x", "model must be"},
            {"openai/./x", "model must be"},
            {"openai/a/.hidden", "model must be"},
            {"openai/gpt 4o", "model must be"},
            {"openai/{x}", "model must be"},
            {"openai/a\\b", "model must be"},
            {"openai/" + "m".repeat(201), "model must be 1-200"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> Target.parse(c[0])).as(c[0])
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(c[1]);
        }
        assertThat(Target.parse("openai/" + "m".repeat(200)).model()).hasSize(200);
    }
}
