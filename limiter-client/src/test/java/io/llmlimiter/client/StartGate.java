package io.llmlimiter.client;

import io.llmlimiter.testing.JvmProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

/**
 * Starts worker JVMs together: each prints {@code READY} once connected, then waits for the gate
 * file; the test opens the gate (writes the start time) when every worker is ready. A machine that
 * is slow to start JVMs then delays the run instead of cutting some workers out of it.
 */
final class StartGate {

    private StartGate() {
    }

    /**
     * Waits until every worker printed {@code READY}, then writes the start time into the gate.
     *
     * @param gate the gate file the workers were given
     * @param workers the worker JVMs
     * @param lead how long after now the run starts
     * @return the start time, epoch milliseconds
     */
    static long open(Path gate, List<JvmProcess> workers, Duration lead) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        for (JvmProcess w : workers) {
            while (!w.output().contains("READY")) {
                if (!w.process().isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("a worker did not get ready; output:\n" + w.output());
                }
                Thread.sleep(50);
            }
        }
        long start = System.currentTimeMillis() + lead.toMillis();
        Path tmp = Files.createTempFile(gate.getParent(), "gate", ".tmp");
        Files.writeString(tmp, Long.toString(start), StandardCharsets.UTF_8);
        Files.move(tmp, gate, StandardCopyOption.ATOMIC_MOVE);
        return start;
    }

    /**
     * In a worker: waits for the gate to open and sleeps until the start time.
     *
     * @param gate the gate file
     * @return the start time, epoch milliseconds
     */
    static long await(Path gate) throws IOException, InterruptedException {
        while (!Files.exists(gate)) {
            Thread.sleep(20);
        }
        long start = Long.parseLong(Files.readString(gate, StandardCharsets.UTF_8).strip());
        Thread.sleep(Math.max(0, start - System.currentTimeMillis()));
        return start;
    }
}
