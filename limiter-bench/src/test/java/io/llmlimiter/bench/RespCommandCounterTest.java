package io.llmlimiter.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RespCommandCounterTest {

    private static final String PIPELINE = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n*2\r\n\r\n"
            + "*1\r\n$4\r\nPING\r\n"
            + "PING\r\n"
            + "*4\r\n$7\r\nEVALSHA\r\n$40\r\n0123456789012345678901234567890123456789\r\n$1\r\n0\r\n$0\r\n\r\n";

    @Test
    void countsEachTopLevelCommandOnceWhateverTheirPayloads() {
        RespCommandCounter counter = new RespCommandCounter();
        byte[] bytes = PIPELINE.getBytes(StandardCharsets.US_ASCII);

        counter.feed(bytes, 0, bytes.length);

        assertThat(counter.commands()).isEqualTo(4);
    }

    @Test
    void countsTheSameWhenTheStreamArrivesInArbitraryPieces() {
        byte[] bytes = (PIPELINE + PIPELINE + PIPELINE).getBytes(StandardCharsets.US_ASCII);
        Random random = new Random(42);
        for (int run = 0; run < 200; run++) {
            RespCommandCounter counter = new RespCommandCounter();
            int i = 0;
            while (i < bytes.length) {
                int n = Math.min(bytes.length - i, 1 + random.nextInt(7));
                counter.feed(bytes, i, n);
                i += n;
            }
            assertThat(counter.commands()).isEqualTo(12);
        }
    }

    @Test
    void emptyArraysAreNotCommands() {
        RespCommandCounter counter = new RespCommandCounter();
        byte[] bytes = "*0\r\n*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII);

        counter.feed(bytes, 0, bytes.length);

        assertThat(counter.commands()).isEqualTo(1);
    }
}
