package io.llmlimiter.client.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmlimiter.client.Usage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Reads a provider's server-sent events as they pass and keeps the usage they report: OpenAI's
 * last chat chunk when the request set {@code stream_options.include_usage} (and the Responses
 * API's {@code response.completed}), Anthropic's {@code message_start} (input) and
 * {@code message_delta} (output so far) events. The stream's end is {@code data: [DONE]},
 * {@code message_stop} or {@code response.completed}. Not thread-safe: one stream feeds it.
 */
public final class StreamUsage {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Longer lines are content, never usage: they are skipped rather than buffered. */
    private static final int MAX_LINE = 1 << 20;

    private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
    private boolean skipping;
    private long input = -1;
    private long output = -1;
    private long cacheRead;
    private boolean ended;

    /**
     * @param bytes stream bytes, in order
     * @param off where they start
     * @param len how many
     */
    public void accept(byte[] bytes, int off, int len) {
        for (int i = off; i < off + len; i++) {
            byte b = bytes[i];
            if (b == '\n') {
                if (!skipping) {
                    onLine(line.toString(StandardCharsets.UTF_8));
                }
                line.reset();
                skipping = false;
            } else if (!skipping) {
                if (line.size() >= MAX_LINE) {
                    skipping = true;
                    line.reset();
                } else {
                    line.write(b);
                }
            }
        }
    }

    /** @return whether the provider said the stream is complete */
    public boolean ended() {
        return ended;
    }

    /** @return the usage reported so far, or empty when none was */
    public Optional<Usage> usage() {
        if (input < 0 && output < 0) {
            return Optional.empty();
        }
        return Optional.of(new Usage(Math.max(0, input), Math.max(0, output), cacheRead));
    }

    private void onLine(String raw) {
        String text = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
        if (!text.startsWith("data:")) {
            if (text.startsWith("event:") && text.substring(6).trim().equals("message_stop")) {
                ended = true;
            }
            return;
        }
        String data = text.substring(5).trim();
        if (data.equals("[DONE]")) {
            ended = true;
            return;
        }
        boolean maybe = data.contains("\"usage\"") || data.contains("message_stop") || data.contains("response.completed");
        if (!maybe) {
            return;
        }
        JsonNode event;
        try {
            event = MAPPER.readTree(data);
        } catch (IOException e) {
            return;
        }
        String type = event.path("type").asText("");
        switch (type) {
            case "message_start" -> anthropic(event.path("message").path("usage"));
            case "message_delta" -> anthropic(event.path("usage"));
            case "message_stop" -> ended = true;
            case "response.completed" -> {
                openAi(event.path("response").path("usage"));
                ended = true;
            }
            default -> openAi(event.path("usage"));
        }
    }

    private void openAi(JsonNode usage) {
        if (usage.has("prompt_tokens")) {
            input = usage.path("prompt_tokens").asLong();
            output = usage.path("completion_tokens").asLong();
            cacheRead = usage.path("prompt_tokens_details").path("cached_tokens").asLong();
        } else if (usage.has("input_tokens")) {
            input = usage.path("input_tokens").asLong();
            output = usage.path("output_tokens").asLong();
            cacheRead = usage.path("input_tokens_details").path("cached_tokens").asLong();
        }
    }

    private void anthropic(JsonNode usage) {
        if (!usage.isObject()) {
            return;
        }
        if (usage.has("input_tokens") && !usage.path("input_tokens").isNull()) {
            input = usage.path("input_tokens").asLong() + usage.path("cache_creation_input_tokens").asLong();
        }
        if (usage.has("cache_read_input_tokens") && !usage.path("cache_read_input_tokens").isNull()) {
            cacheRead = usage.path("cache_read_input_tokens").asLong();
        }
        if (usage.has("output_tokens")) {
            output = usage.path("output_tokens").asLong();
        }
    }
}
