package io.llmlimiter.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.Target;
import java.net.URI;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * Validation and formatting shared by the {@code demo}, {@code workload} and {@code probe}
 * commands. Every validation failure is a picocli {@link ParameterException} whose message names
 * the flag, so a user sees one clear line and the usage, never a stack trace. This class is
 * stateless and thread-safe.
 */
public final class CliSupport {

    /** Shared JSON mapper; Jackson mappers are thread-safe once configured. */
    public static final ObjectMapper JSON = new ObjectMapper();

    private CliSupport() {
    }

    /**
     * @param spec the command, for the error
     * @param flag the option name, e.g. {@code --target}
     * @param text {@code provider/model}
     * @return the target
     * @throws ParameterException naming the flag
     */
    public static Target target(CommandSpec spec, String flag, String text) {
        try {
            return Target.parse(text);
        } catch (IllegalArgumentException e) {
            throw bad(spec, flag, e.getMessage());
        }
    }

    /**
     * @param spec the command, for the error
     * @param flag the option name
     * @param text limits in the compact form, e.g. {@code requests=20/2s,tokens=4000/2s}
     * @return the limits, at least one
     * @throws ParameterException naming the flag
     */
    public static List<Limit> limits(CommandSpec spec, String flag, String text) {
        List<Limit> limits;
        try {
            limits = Limit.parseAll(text);
        } catch (IllegalArgumentException e) {
            throw bad(spec, flag, e.getMessage() + " (expected e.g. requests=20/2s,tokens=4000/2s)");
        }
        if (limits.isEmpty()) {
            throw bad(spec, flag, "must hold at least one limit, e.g. requests=20/2s,tokens=4000/2s");
        }
        return limits;
    }

    /**
     * @param spec the command, for the error
     * @param flag the option name
     * @param value the value
     * @param min the smallest allowed value
     * @param max the largest allowed value
     * @return the value
     * @throws ParameterException naming the flag when out of range
     */
    public static int range(CommandSpec spec, String flag, int value, int min, int max) {
        if (value < min || value > max) {
            throw bad(spec, flag, "must be between " + min + " and " + max + ", got " + value);
        }
        return value;
    }

    /**
     * @param spec the command, for the error
     * @param flag the option name
     * @param text an http or https URL
     * @return the URL without a trailing slash
     * @throws ParameterException naming the flag
     */
    public static String httpUrl(CommandSpec spec, String flag, String text) {
        try {
            URI uri = URI.create(text.trim());
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
                throw new IllegalArgumentException("x");
            }
        } catch (IllegalArgumentException e) {
            throw bad(spec, flag, "must be an http(s) URL such as http://127.0.0.1:8080 or "
                    + "https://api.openai.com/v1, got '" + text + "'");
        }
        String t = text.trim();
        return t.endsWith("/") ? t.substring(0, t.length() - 1) : t;
    }

    /**
     * @param spec the command, for the error
     * @param flag the option name
     * @param name an environment variable name
     * @return the name
     * @throws ParameterException naming the flag when it is not a variable name
     */
    public static String envName(CommandSpec spec, String flag, String name) {
        if (name == null || !name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw bad(spec, flag, "must be an environment variable name such as OPENAI_API_KEY, got '" + name + "'");
        }
        return name;
    }

    /**
     * @param spec the command
     * @param flag the option name
     * @param problem what is wrong
     * @return the exception to throw
     */
    public static ParameterException bad(CommandSpec spec, String flag, String problem) {
        return new ParameterException(spec.commandLine(), "Invalid value for option '" + flag + "': " + problem);
    }

    /**
     * @param seconds a duration in seconds
     * @return e.g. {@code 12.3 s}
     */
    public static String seconds(double seconds) {
        return String.format(Locale.ROOT, "%.1f s", seconds);
    }

    /**
     * @param d a duration
     * @return its seconds with millisecond precision
     */
    public static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    /**
     * @param value a number
     * @return it rounded to three decimals, for JSON
     */
    public static double round3(double value) {
        return Math.round(value * 1000) / 1000.0;
    }

    /**
     * Keeps library logging out of the way of a command's own output: the root and
     * {@code io.llmlimiter} loggers at WARN (INFO with {@code verbose}) and console appenders moved
     * to stderr, so {@code --json} output on stdout stays a single JSON document. Closing the
     * returned scope puts everything back, for commands run inside a longer-lived JVM (tests).
     *
     * @param verbose whether to show INFO lines (the limiter's throttling and retry lines)
     * @return the scope that restores the previous logging on close
     */
    public static Quiet quietLogging(boolean verbose) {
        Quiet quiet = new Quiet();
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return quiet;
        }
        Level level = verbose ? Level.INFO : Level.WARN;
        quiet.set(context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME), level);
        quiet.set(context.getLogger("io.llmlimiter"), level);
        // Netty, Lettuce and Jetty are chatty at INFO even when all is well.
        for (String chatty : List.of("io.netty", "io.lettuce", "org.eclipse.jetty", "io.javalin")) {
            quiet.set(context.getLogger(chatty), Level.WARN);
        }
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
            if (it.next() instanceof ConsoleAppender<ILoggingEvent> console
                    && !"System.err".equals(console.getTarget())) {
                quiet.moved.put(console, console.getTarget());
                retarget(console, "System.err");
            }
        }
        return quiet;
    }

    private static void retarget(ConsoleAppender<ILoggingEvent> console, String target) {
        console.stop();
        console.setTarget(target);
        console.start();
    }

    /** Restores the logging {@link #quietLogging(boolean)} changed. Not thread-safe: close it once. */
    public static final class Quiet implements AutoCloseable {
        private final Map<Logger, Level> levels = new LinkedHashMap<>();
        private final Map<ConsoleAppender<ILoggingEvent>, String> moved = new LinkedHashMap<>();

        private Quiet() {
        }

        private void set(Logger logger, Level level) {
            levels.put(logger, logger.getLevel());
            logger.setLevel(level);
        }

        /** Puts the levels and console targets back. */
        @Override
        public void close() {
            levels.forEach(Logger::setLevel);
            moved.forEach(CliSupport::retarget);
        }
    }
}
