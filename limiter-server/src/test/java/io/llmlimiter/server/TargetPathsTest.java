package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.Target;
import org.junit.jupiter.api.Test;

/** How a target's path is written and how a model spread over plain segments is routed. */
class TargetPathsTest {

    @Test
    void theCanonicalPathEncodesOnlyTheModelsSlashes() {
        assertThat(TargetPaths.of(Target.parse("openai/gpt-4o"))).isEqualTo("/api/v1/targets/openai/gpt-4o");
        assertThat(TargetPaths.of(Target.parse("together/meta-llama/Llama-3.3-70B-Instruct-Turbo")))
                .isEqualTo("/api/v1/targets/together/meta-llama%2FLlama-3.3-70B-Instruct-Turbo");
        assertThat(TargetPaths.of(Target.parse("bedrock/anthropic.claude-v2:1")))
                .isEqualTo("/api/v1/targets/bedrock/anthropic.claude-v2:1");
    }

    @Test
    void plainSlashesInTheModelBecomeOneSegment() {
        assertThat(TargetPaths.canonical("/api/v1/targets/openrouter/openai/gpt-4o"))
                .isEqualTo("/api/v1/targets/openrouter/openai%2Fgpt-4o");
        assertThat(TargetPaths.canonical("/api/v1/targets/openrouter/openai/gpt-4o/stats"))
                .isEqualTo("/api/v1/targets/openrouter/openai%2Fgpt-4o/stats");
        assertThat(TargetPaths.canonical("/api/v1/targets/a/b/c/d/reset"))
                .isEqualTo("/api/v1/targets/a/b%2Fc%2Fd/reset");
        assertThat(TargetPaths.canonical("/api/v1/targets/a/b/c%2Fd"))
                .isEqualTo("/api/v1/targets/a/b%2Fc%2Fd");
    }

    @Test
    void pathsThatAlreadyRouteAreLeftAlone() {
        for (String path : new String[] {"/api/v1/targets", "/api/v1/targets/", "/api/v1/targets/openai/gpt-4o",
                "/api/v1/targets/openai/gpt-4o/stats", "/api/v1/targets/openai/gpt-4o/reset",
                "/api/v1/targets/openrouter/openai%2Fgpt-4o/stats", "/api/v1/targets/a/b//c", "/api/v1/stats",
                "/api/v1/targetsx/a/b/c"}) {
            assertThat(TargetPaths.canonical(path)).as(path).isEqualTo(path);
        }
    }
}
