package io.llmlimiter.server.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The main class of a worker JVM spawned by {@code workload --processes P} and the demo:
 * {@code java -cp llm-limiter.jar io.llmlimiter.server.cli.WorkloadWorker --spec JSON --calls N}.
 *
 * <p>Protocol on stdout, one line each: {@value #READY} once connected; then, after the parent
 * writes {@code go} on stdin, {@value #PROGRESS}{@code succeeded failed 429s retries} every quarter
 * second, and finally {@value #RESULT}{@code <summary JSON>}, or {@value #ERROR}{@code <message>}.
 * When stdin closes (the parent went away) the worker exits. Not instantiable.
 */
public final class WorkloadWorker {

    /** Line a worker prints once it can start. */
    public static final String READY = "@@ready";
    /** Prefix of a progress line. */
    public static final String PROGRESS = "@@progress ";
    /** Prefix of the result line. */
    public static final String RESULT = "@@result ";
    /** Prefix of an error line. */
    public static final String ERROR = "@@error ";

    private WorkloadWorker() {
    }

    /**
     * @param args {@code --spec <json> --calls <n>}
     */
    public static void main(String[] args) {
        CliSupport.quietLogging(false);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String specJson = null;
        long calls = -1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--spec" -> specJson = args[i + 1];
                case "--calls" -> calls = Long.parseLong(args[i + 1]);
                default -> {
                    out.println(ERROR + "unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (specJson == null || calls < 0) {
            out.println(ERROR + "usage: WorkloadWorker --spec <json> --calls <n>");
            System.exit(2);
        }
        int code = run(specJson, calls, out);
        System.exit(code);
    }

    private static int run(String specJson, long calls, PrintStream out) {
        try (WorkloadRunner runner = new WorkloadRunner(WorkloadSpec.fromJson(CliSupport.JSON.readTree(specJson)))) {
            out.println(READY);
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line = in.readLine();
            if (line == null || !line.trim().equals("go")) {
                return 3;
            }
            watchParent(in);
            Tally tally = new Tally();
            ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "worker-progress");
                t.setDaemon(true);
                return t;
            });
            timer.scheduleAtFixedRate(() -> out.println(progressLine(tally.snapshot())), 250, 250,
                    TimeUnit.MILLISECONDS);
            Summary summary = runner.run(calls, tally, null);
            timer.shutdownNow();
            out.println(RESULT + summary.toJson());
            return 0;
        } catch (Exception e) {
            out.println(ERROR + e.getClass().getSimpleName() + ": " + e.getMessage());
            return 1;
        }
    }

    /** A worker must not outlive its parent: stdin closing means the parent is gone. */
    private static void watchParent(BufferedReader in) {
        Thread t = new Thread(() -> {
            try {
                while (in.readLine() != null) {
                    // Nothing else is sent after "go".
                }
            } catch (java.io.IOException e) {
                // Treated like end of input.
            }
            System.exit(4);
        }, "parent-watch");
        t.setDaemon(true);
        t.start();
    }

    /**
     * @param s counters
     * @return the progress line for them
     */
    static String progressLine(Tally.Snapshot s) {
        return PROGRESS + s.succeeded() + " " + s.failed() + " " + s.provider429() + " " + s.retries();
    }

    /**
     * @param line a progress line
     * @return the counters it carries
     */
    static Tally.Snapshot parseProgress(String line) {
        String[] p = line.substring(PROGRESS.length()).trim().split(" ");
        return new Tally.Snapshot(Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]),
                Long.parseLong(p[3]));
    }
}
