package io.llmlimiter.testing;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sanity tests for {@link LogCapture}. */
class LogCaptureTest {

    // Configured at INFO in logback-test.xml, under a WARN root.
    private static final Logger LIMITER_LOG = LoggerFactory.getLogger("io.llmlimiter.testing.LogCaptureTest");
    private static final Logger OTHER_LOG = LoggerFactory.getLogger("com.example.Other");

    @Test
    void aFormattedLogLineAndAnExceptionMessageWithItsStackTraceAppearInTheText() {
        try (LogCapture logs = LogCapture.start()) {
            LIMITER_LOG.info("acquired permit for {}", "openai/gpt-4o");
            OTHER_LOG.warn("call failed", new IllegalStateException("provider said: bad key sk-test-123"));

            assertThat(logs.text())
                    .contains("INFO  io.llmlimiter.testing.LogCaptureTest - acquired permit for openai/gpt-4o")
                    .contains("WARN  com.example.Other - call failed")
                    .contains("java.lang.IllegalStateException: provider said: bad key sk-test-123")
                    .contains("at io.llmlimiter.testing.LogCaptureTest.");
            assertThat(logs.events()).hasSize(2);
        }
    }

    @Test
    void debugLinesAreCapturedEvenFromLoggersConfiguredLessVerbose() {
        try (LogCapture logs = LogCapture.start()) {
            LIMITER_LOG.debug("debug detail {}", 42);
            OTHER_LOG.debug("root-level debug");
            LIMITER_LOG.trace("too verbose for the default capture");

            assertThat(logs.text()).contains("debug detail 42").contains("root-level debug")
                    .doesNotContain("too verbose");
        }
    }

    @Test
    void traceCaptureIncludesTraceLines() {
        try (LogCapture logs = LogCapture.start(Level.TRACE)) {
            OTHER_LOG.trace("the finest detail");

            assertThat(logs.text()).contains("TRACE com.example.Other - the finest detail");
        }
    }

    @Test
    void closingRestoresLevelsAndAppendersAndStopsCapturing() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ch.qos.logback.classic.Logger limiter = context.getLogger("io.llmlimiter");
        Level rootBefore = root.getLevel();
        Level limiterBefore = limiter.getLevel();
        int rootFiltersBefore = root.getAppender("OUT").getCopyOfAttachedFiltersList().size();

        LogCapture logs = LogCapture.start();
        assertThat(root.getLevel()).isEqualTo(Level.DEBUG);
        logs.close();
        LIMITER_LOG.warn("after close");
        logs.clear();

        assertThat(logs.text()).isEmpty();
        assertThat(root.getLevel()).isEqualTo(rootBefore);
        assertThat(limiter.getLevel()).isEqualTo(limiterBefore);
        assertThat(root.getAppender("OUT").getCopyOfAttachedFiltersList()).hasSize(rootFiltersBefore);
        assertThat(root.iteratorForAppenders()).toIterable().hasSize(1);
    }
}
