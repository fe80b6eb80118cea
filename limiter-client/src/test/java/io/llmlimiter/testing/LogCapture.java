package io.llmlimiter.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * Captures everything logged through Logback while it is open, for tests that must prove a secret
 * never reaches the logs. Open it before the code under test runs and read {@link #text()} after:
 *
 * <pre>{@code
 * try (LogCapture logs = LogCapture.start()) {
 *     limiter.acquire(...);
 *     assertThat(logs.text()).doesNotContain("s3cret");
 * }
 * }</pre>
 *
 * <p>While open, every logger (root and those with their own level) is lowered to the capture level
 * (DEBUG by default), and a capturing appender is attached to the root and to every non-additive
 * logger. So that the console does not fill with the extra lines, the appenders already configured
 * get a filter that drops what they would not have printed before. {@link #close()} undoes all of
 * it. Captures may be nested if closed in reverse order; concurrent unrelated captures are not
 * supported, because levels are global.
 *
 * <p>Lettuce's own TRACE output dumps the raw protocol, {@code AUTH} passwords included, so a
 * secret-leak test at TRACE would flag Lettuce rather than our code; DEBUG is the default for that
 * reason. This class is thread-safe.
 */
public final class LogCapture implements AutoCloseable {

    /** The layout of each captured line: level, logger, message, then any stack trace in full. */
    public static final String PATTERN = "%-5level %logger - %msg%n%ex";

    private final LoggerContext context;
    private final Map<Logger, Level> changedLevels = new HashMap<>();
    private final Set<Appender<ILoggingEvent>> filteredAppenders = new LinkedHashSet<>();
    private final List<Logger> attachedTo = new ArrayList<>();
    private final Filter<ILoggingEvent> keepConsoleAsBefore;
    private final Capturer capturer;
    private boolean closed;

    private LogCapture(LoggerContext context, Level level) {
        this.context = context;
        // Effective levels before we lower them: what the existing appenders used to receive.
        Map<String, Level> levelsBefore = new HashMap<>();
        for (Logger logger : context.getLoggerList()) {
            if (logger.getLevel() != null) {
                levelsBefore.put(logger.getName(), logger.getLevel());
            }
        }
        this.keepConsoleAsBefore = new Filter<>() {
            @Override
            public FilterReply decide(ILoggingEvent event) {
                return event.getLevel().isGreaterOrEqual(levelBefore(levelsBefore, event.getLoggerName()))
                        ? FilterReply.NEUTRAL : FilterReply.DENY;
            }
        };
        PatternLayout layout = new PatternLayout();
        layout.setContext(context);
        layout.setPattern(PATTERN);
        layout.start();
        this.capturer = new Capturer(layout);
        capturer.setContext(context);
        capturer.setName("log-capture-" + System.identityHashCode(this));
        capturer.start();

        List<Logger> loggers = context.getLoggerList();
        for (Logger logger : loggers) {
            for (Iterator<Appender<ILoggingEvent>> it = logger.iteratorForAppenders(); it.hasNext(); ) {
                filteredAppenders.add(it.next());
            }
        }
        for (Logger logger : loggers) {
            Level current = logger.getLevel();
            if (current != null && current.isGreaterOrEqual(level) && current != level) {
                changedLevels.put(logger, current);
                logger.setLevel(level);
            }
            if (logger.getName().equals(Logger.ROOT_LOGGER_NAME) || !logger.isAdditive()) {
                logger.addAppender(capturer);
                attachedTo.add(logger);
            }
        }
        filteredAppenders.forEach(a -> a.addFilter(keepConsoleAsBefore));
    }

    /**
     * Starts capturing at DEBUG.
     *
     * @return the open capture
     * @throws IllegalStateException if SLF4J is not bound to Logback
     */
    public static LogCapture start() {
        return start(Level.DEBUG);
    }

    /**
     * Starts capturing at the given level ({@code TRACE} captures everything).
     *
     * @param level the most verbose level to capture
     * @return the open capture
     * @throws IllegalStateException if SLF4J is not bound to Logback
     */
    public static LogCapture start(Level level) {
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (!(factory instanceof LoggerContext)) {
            throw new IllegalStateException("LogCapture needs SLF4J bound to Logback, but it is bound to "
                    + factory.getClass().getName());
        }
        return new LogCapture((LoggerContext) factory, level);
    }

    /**
     * Everything captured so far, one {@link #PATTERN} entry per event, stack traces included.
     *
     * @return the captured text
     */
    public String text() {
        return String.join("", capturer.lines);
    }

    /**
     * The captured events, for assertions on levels, arguments or MDC.
     *
     * @return a snapshot list
     */
    public List<ILoggingEvent> events() {
        return List.copyOf(capturer.events);
    }

    /** Forgets what was captured so far; capturing goes on. */
    public void clear() {
        capturer.lines.clear();
        capturer.events.clear();
    }

    /** Restores levels and appenders as they were. Idempotent; {@link #text()} stays readable. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        attachedTo.forEach(logger -> logger.detachAppender(capturer));
        capturer.stop();
        changedLevels.forEach(Logger::setLevel);
        for (Appender<ILoggingEvent> appender : filteredAppenders) {
            // Logback can only clear all filters, so the others are put back in order.
            List<Filter<ILoggingEvent>> filters = appender.getCopyOfAttachedFiltersList();
            appender.clearAllFilters();
            filters.stream().filter(f -> f != keepConsoleAsBefore).forEach(appender::addFilter);
        }
    }

    /** Walks up the logger hierarchy (Logback separates names with '.' and '$') to the root. */
    private static Level levelBefore(Map<String, Level> levels, String loggerName) {
        String name = loggerName;
        while (true) {
            Level level = levels.get(name);
            if (level != null) {
                return level;
            }
            int cut = Math.max(name.lastIndexOf('.'), name.lastIndexOf('$'));
            if (cut < 0) {
                Level root = levels.get(Logger.ROOT_LOGGER_NAME);
                return root == null ? Level.DEBUG : root;
            }
            name = name.substring(0, cut);
        }
    }

    /** Formats each event at once, so later changes to its arguments cannot alter what was logged. */
    private static final class Capturer extends AppenderBase<ILoggingEvent> {
        private final PatternLayout layout;
        private final Queue<String> lines = new ConcurrentLinkedQueue<>();
        private final Queue<ILoggingEvent> events = new ConcurrentLinkedQueue<>();

        Capturer(PatternLayout layout) {
            this.layout = layout;
        }

        @Override
        protected void append(ILoggingEvent event) {
            event.prepareForDeferredProcessing();
            lines.add(layout.doLayout(event));
            events.add(event);
        }
    }
}
