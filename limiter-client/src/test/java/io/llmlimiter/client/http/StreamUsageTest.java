package io.llmlimiter.client.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.StreamCompletion;
import io.llmlimiter.client.Usage;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class StreamUsageTest {

    private static final String OPENAI = "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n"
            + "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":4}}}\n\n"
            + "data: [DONE]\n\n";

    private static final String ANTHROPIC = "event: message_start\r\n"
            + "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":30,"
            + "\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":8,\"output_tokens\":1}}}\r\n\r\n"
            + "event: content_block_delta\r\n"
            + "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"usage\"}}\r\n\r\n"
            + "event: message_delta\r\n"
            + "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":42}}\r\n\r\n"
            + "event: message_stop\r\n"
            + "data: {\"type\":\"message_stop\"}\r\n\r\n";

    /** Records how the stream completed. */
    private static final class Recorder implements StreamCompletion {
        final AtomicReference<Object> outcome = new AtomicReference<>();

        @Override
        public void complete(Usage usage) {
            outcome.compareAndSet(null, usage == null ? "no usage" : usage);
        }

        @Override
        public void fail(Throwable cause) {
            outcome.compareAndSet(null, cause);
        }
    }

    private static StreamUsage feedInPieces(String text, int piece) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        StreamUsage usage = new StreamUsage();
        for (int i = 0; i < bytes.length; i += piece) {
            usage.accept(bytes, i, Math.min(piece, bytes.length - i));
        }
        return usage;
    }

    @Test
    void openAisLastChunkCarriesTheUsageAndDoneEndsTheStream() {
        StreamUsage usage = feedInPieces(OPENAI, 7);
        assertThat(usage.ended()).isTrue();
        assertThat(usage.usage()).contains(new Usage(12, 7, 4));
    }

    @Test
    void anthropicsStartGivesTheInputAndTheLastDeltaTheOutput() {
        StreamUsage usage = feedInPieces(ANTHROPIC, 5);
        assertThat(usage.ended()).isTrue();
        assertThat(usage.usage()).contains(new Usage(35, 42, 8));
    }

    @Test
    void aStreamWithoutUsageEndsWithoutIt() {
        StreamUsage usage = feedInPieces("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n", 3);
        assertThat(usage.ended()).isTrue();
        assertThat(usage.usage()).isEmpty();
    }

    @Test
    void aMeteredStreamCompletesWithItsUsageWhenReadToItsEnd() throws Exception {
        Recorder done = new Recorder();
        try (InputStream in = new MeteredStream(new ByteArrayInputStream(ANTHROPIC.getBytes(StandardCharsets.UTF_8)), done)) {
            in.readAllBytes();
        }
        assertThat(done.outcome.get()).isEqualTo(new Usage(35, 42, 8));
    }

    @Test
    void aMeteredStreamThatEndsWithoutTheProvidersEndMarkerFails() throws Exception {
        Recorder done = new Recorder();
        String cut = ANTHROPIC.substring(0, ANTHROPIC.indexOf("event: message_stop"));
        try (InputStream in = new MeteredStream(new ByteArrayInputStream(cut.getBytes(StandardCharsets.UTF_8)), done)) {
            in.readAllBytes();
        }
        assertThat(done.outcome.get()).isInstanceOf(java.io.IOException.class);
    }

    @Test
    void aMeteredStreamClosedBeforeTheProviderEndedItFails() throws Exception {
        Recorder done = new Recorder();
        byte[] bytes = OPENAI.getBytes(StandardCharsets.UTF_8);
        try (InputStream in = new MeteredStream(new ByteArrayInputStream(bytes), done)) {
            assertThat(in.read(new byte[20])).isEqualTo(20);
        }
        assertThat(done.outcome.get()).isInstanceOf(java.io.IOException.class);
    }
}
