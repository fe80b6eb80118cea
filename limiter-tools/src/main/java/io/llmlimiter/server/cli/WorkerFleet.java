package io.llmlimiter.server.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Worker JVMs of one workload ({@code --processes P}), each running {@link WorkloadWorker} with its
 * share of the calls. Workers start, connect and load the tokenizer, say they are ready, and begin
 * together when told to, so JVM start-up is not counted in the wall time. They report progress and
 * their summary on stdout (see {@link WorkloadWorker}); a worker whose parent goes away stops.
 * This class is thread-safe.
 */
public final class WorkerFleet implements AutoCloseable {

    private static final List<String> JVM_OPTIONS =
            List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    private static final int TAIL_LINES = 20;

    private final List<Worker> workers = new ArrayList<>();
    private final CountDownLatch ready;
    private volatile long goNanos;

    private static final class Worker {
        final int index;
        final Process process;
        final AtomicReference<Tally.Snapshot> progress = new AtomicReference<>(Tally.Snapshot.ZERO);
        final CompletableFuture<Summary> result = new CompletableFuture<>();
        final ArrayDeque<String> tail = new ArrayDeque<>();
        volatile long doneNanos;

        Worker(int index, Process process) {
            this.index = index;
            this.process = process;
        }

        synchronized void remember(String line) {
            if (tail.size() == TAIL_LINES) {
                tail.pollFirst();
            }
            tail.addLast(line);
        }

        synchronized String tail() {
            return String.join(System.lineSeparator(), tail);
        }
    }

    private WorkerFleet(int size) {
        this.ready = new CountDownLatch(size);
    }

    /**
     * Starts one worker JVM per entry of {@code calls}.
     *
     * @param spec what each worker runs
     * @param calls each worker's share of the calls
     * @return the fleet, starting up
     * @throws IOException when a JVM cannot be started
     */
    public static WorkerFleet start(WorkloadSpec spec, long[] calls) throws IOException {
        WorkerFleet fleet = new WorkerFleet(calls.length);
        try {
            for (int i = 0; i < calls.length; i++) {
                List<String> cmd = new ArrayList<>();
                cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
                cmd.addAll(JVM_OPTIONS);
                cmd.addAll(List.of("-cp", classPath(), WorkloadWorker.class.getName(),
                        "--spec", spec.toJson().toString(), "--calls", Long.toString(calls[i])));
                Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                Worker w = new Worker(i, p);
                fleet.workers.add(w);
                Thread reader = new Thread(() -> fleet.read(w), "worker-" + i + "-reader");
                reader.setDaemon(true);
                reader.start();
            }
        } catch (IOException | RuntimeException e) {
            fleet.close();
            throw e;
        }
        return fleet;
    }

    /**
     * The class path for worker JVMs: the test class path under Maven, the running jar when started
     * with {@code java -jar}, else this JVM's class path.
     *
     * @return the class path
     */
    public static String classPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        if (surefire != null && !surefire.isBlank()) {
            return surefire;
        }
        try {
            Path location = Path.of(WorkloadWorker.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(location)) {
                return location.toString();
            }
        } catch (Exception e) {
            // No code source (unusual class loader): fall back to the class path property.
        }
        return System.getProperty("java.class.path");
    }

    /**
     * Waits until every worker is ready, then tells them all to begin.
     *
     * @param timeout how long start-up may take
     * @throws IOException when a worker failed to start or did not get ready in time
     * @throws InterruptedException when interrupted
     */
    public void go(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!ready.await(100, TimeUnit.MILLISECONDS)) {
            for (Worker w : workers) {
                if (w.result.isCompletedExceptionally()) {
                    throw new IOException(cause(w));
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("worker JVMs were not ready within " + timeout.toSeconds() + " s");
            }
        }
        goNanos = System.nanoTime();
        for (Worker w : workers) {
            OutputStream in = w.process.getOutputStream();
            in.write("go\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
        }
    }

    /** @return the summed counters of all workers, as last reported */
    public Tally.Snapshot progress() {
        Tally.Snapshot sum = Tally.Snapshot.ZERO;
        for (Worker w : workers) {
            sum = sum.plus(w.progress.get());
        }
        return sum;
    }

    /**
     * Waits for every worker's summary.
     *
     * @param timeout how long the run may take
     * @return each worker's summary, in worker order
     * @throws IOException when a worker failed or the run took too long
     * @throws InterruptedException when interrupted
     */
    public List<Summary> results(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Summary> out = new ArrayList<>();
        for (Worker w : workers) {
            try {
                out.add(w.result.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (ExecutionException e) {
                throw new IOException(cause(w));
            } catch (TimeoutException e) {
                throw new IOException("worker " + w.index + " did not finish within " + timeout.toSeconds() + " s");
            }
        }
        return out;
    }

    /** @return seconds from {@link #go} until the last worker reported its summary */
    public double wallSeconds() {
        long last = workers.stream().mapToLong(w -> w.doneNanos).max().orElse(goNanos);
        return (last - goNanos) / 1e9;
    }

    private void read(Worker w) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(w.process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                handle(w, line);
            }
        } catch (IOException e) {
            w.remember("reading the worker's output failed: " + e.getMessage());
        }
        try {
            int code = w.process.waitFor();
            if (!w.result.isDone()) {
                w.result.completeExceptionally(new IOException("worker " + w.index + " exited with code " + code));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void handle(Worker w, String line) {
        if (line.equals(WorkloadWorker.READY)) {
            ready.countDown();
        } else if (line.startsWith(WorkloadWorker.PROGRESS)) {
            w.progress.set(WorkloadWorker.parseProgress(line));
        } else if (line.startsWith(WorkloadWorker.RESULT)) {
            try {
                Summary s = Summary.fromJson(CliSupport.JSON.readTree(line.substring(WorkloadWorker.RESULT.length())));
                w.progress.set(new Tally.Snapshot(s.succeeded(), s.failed(), s.provider429(), s.retries()));
                w.doneNanos = System.nanoTime();
                w.result.complete(s);
            } catch (IOException e) {
                w.result.completeExceptionally(e);
            }
        } else if (line.startsWith(WorkloadWorker.ERROR)) {
            w.remember(line.substring(WorkloadWorker.ERROR.length()));
            w.result.completeExceptionally(new IOException(line.substring(WorkloadWorker.ERROR.length())));
        } else {
            w.remember(line);
        }
    }

    private static String cause(Worker w) {
        String tail = w.tail();
        return "worker " + w.index + " failed" + (tail.isEmpty() ? "" : ": " + tail);
    }

    /** Stops every worker still running. */
    @Override
    public void close() {
        for (Worker w : workers) {
            try {
                w.process.getOutputStream().close();
            } catch (IOException e) {
                // Already gone.
            }
            if (w.process.isAlive()) {
                w.process.destroy();
            }
        }
        for (Worker w : workers) {
            try {
                if (!w.process.waitFor(5, TimeUnit.SECONDS)) {
                    w.process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                w.process.destroyForcibly();
            }
        }
    }
}
