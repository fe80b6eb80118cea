package io.llmlimiter.server.cli;

import io.llmlimiter.server.ServeCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code llm-limiter} command line ({@code java -jar llm-limiter.jar <command>}). Each
 * command is a picocli subcommand listed in {@code subcommands}; add new ones there. Not
 * thread-safe (one run per instance).
 */
@Command(name = "llm-limiter", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Exact distributed rate limiting for LLM API calls, with Redis as the single source of truth.",
        subcommands = {ServeCommand.class, DemoCommand.class, WorkloadCommand.class, ProbeCommand.class,
                MockProviderCommand.class, HealthCheckCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Spec
    private CommandSpec spec;

    /**
     * Runs the command line and exits with its exit code.
     *
     * @param args the arguments, e.g. {@code serve --port 7070}
     */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** @return the command line with every subcommand, not yet run */
    public static CommandLine commandLine() {
        return new CommandLine(new Main());
    }

    /** Without a subcommand: says which ones there are. */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing command: choose one of "
                + spec.subcommands().keySet());
    }

    /** The version from the jar's manifest. Thread-safe. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"llm-limiter " + (v == null ? "(development build)" : v)};
        }
    }
}
