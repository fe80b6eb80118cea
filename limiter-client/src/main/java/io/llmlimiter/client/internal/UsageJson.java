package io.llmlimiter.client.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.Usage;
import java.util.Optional;

/** Reads the usage block of OpenAI and Anthropic responses. This class is thread-safe. */
public final class UsageJson {

    private UsageJson() {
    }

    /**
     * @param json a response body
     * @return its usage, or empty when it has none
     */
    public static Optional<Usage> parse(String json) {
        JsonNode usage;
        try {
            usage = ConfigJson.MAPPER.readTree(json).path("usage");
        } catch (JsonProcessingException | IllegalArgumentException e) {
            return Optional.empty();
        }
        if (usage.has("prompt_tokens")) {
            return Optional.of(new Usage(usage.path("prompt_tokens").asLong(), usage.path("completion_tokens").asLong(),
                    usage.path("prompt_tokens_details").path("cached_tokens").asLong()));
        }
        if (usage.has("input_tokens")) {
            long written = usage.path("cache_creation_input_tokens").asLong();
            long input = usage.path("input_tokens").asLong() + written;
            return Optional.of(new Usage(input, usage.path("output_tokens").asLong(),
                    usage.path("cache_read_input_tokens").asLong(), written));
        }
        return Optional.empty();
    }
}
