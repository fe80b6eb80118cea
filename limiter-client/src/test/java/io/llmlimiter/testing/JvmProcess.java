package io.llmlimiter.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a class's {@code main} in a separate JVM with the test class path, for tests of
 * behaviour across processes. Output goes to a log file kept for failure reports.
 */
public final class JvmProcess implements AutoCloseable {

    private final Process process;
    private final Path log;

    private JvmProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * @param main the class whose main to run
     * @param args its arguments
     * @return the started process
     * @throws IOException when the JVM cannot be started
     */
    public static JvmProcess start(Class<?> main, String... args) throws IOException {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", classpath, main.getName()));
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile("llmlim-jvm-", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new JvmProcess(p, log);
    }

    /** @return the OS process */
    public Process process() {
        return process;
    }

    /** @return what the process printed so far */
    public String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    /** Kills the process with SIGKILL, as a crash would. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
        new File(log.toString()).deleteOnExit();
    }
}
