/**
 * The client every worker embeds. Only the API packages are exported; {@code io.llmlimiter.client.internal}
 * is not part of the API and may change in any release.
 */
module io.llmlimiter.client {
    // LlmLimiter.Builder takes a MeterRegistry.
    requires transitive micrometer.core;
    requires io.llmlimiter.scripts;
    requires lettuce.core;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;
    requires java.net.http;
    // jtokkit names no module: its automatic module name comes from its file name.
    requires jtokkit;

    exports io.llmlimiter.client;
    exports io.llmlimiter.client.retry;
    exports io.llmlimiter.client.http;
}
