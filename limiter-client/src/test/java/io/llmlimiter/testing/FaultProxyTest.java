package io.llmlimiter.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Sanity tests for {@link FaultProxy} against a real Redis server. */
@WithRedis
class FaultProxyTest {

    private static RedisClient client;

    private FaultProxy proxy;
    private RedisURI uri;

    @BeforeAll
    static void createClient() {
        client = RedisClient.create();
    }

    @AfterAll
    static void shutdownClient() {
        client.shutdown(0, 2, TimeUnit.SECONDS);
    }

    @BeforeEach
    void startProxy(RedisProcess redis) {
        proxy = FaultProxy.start(redis);
        uri = RedisURI.create(proxy.uri());
        uri.setTimeout(Duration.ofMillis(500));
    }

    @AfterEach
    void stopProxy() {
        proxy.close();
    }

    @Test
    void aPingThroughTheProxyReachesRedis() {
        try (StatefulRedisConnection<String, String> connection = client.connect(uri)) {
            assertThat(connection.sync().ping()).isEqualTo("PONG");
        }
        assertThat(proxy.uri()).isEqualTo("redis://127.0.0.1:" + proxy.port());
        assertThat(proxy.acceptedConnections()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.openConnections() == 0);
    }

    @Test
    void latencyMakesEveryRoundTripAtLeastThatSlow() {
        try (StatefulRedisConnection<String, String> connection = client.connect(uri)) {
            connection.setTimeout(Duration.ofSeconds(5));
            proxy.latency(Duration.ofMillis(150));

            long start = System.nanoTime();
            assertThat(connection.sync().ping()).isEqualTo("PONG");
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            assertThat(tookMillis).isGreaterThanOrEqualTo(150);
        }
    }

    @Test
    void aStallTimesCommandsOutAndResumeLetsNewCommandsThrough() {
        try (StatefulRedisConnection<String, String> connection = client.connect(uri)) {
            RedisCommands<String, String> commands = connection.sync();
            assertThat(commands.set("k", "v")).isEqualTo("OK");

            proxy.stall();
            assertThatThrownBy(commands::ping).isInstanceOf(RedisCommandTimeoutException.class);
            assertThat(proxy.openConnections()).isEqualTo(1);

            proxy.resume();
            await().atMost(Duration.ofSeconds(5)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(commands.get("k")).isEqualTo("v"));
            assertThat(proxy.acceptedConnections()).isEqualTo(1);
        }
    }

    @Test
    void droppedConnectionsMakeLettuceReconnectAndCarryOn() {
        try (StatefulRedisConnection<String, String> connection = client.connect(uri)) {
            RedisCommands<String, String> commands = connection.sync();
            assertThat(commands.ping()).isEqualTo("PONG");

            proxy.dropConnections();

            await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(commands.ping()).isEqualTo("PONG"));
            assertThat(proxy.acceptedConnections()).isEqualTo(2);
        }
    }

    @Test
    void aCutRefusesConnectionsAndRestoreAcceptsThemAgain() {
        try (StatefulRedisConnection<String, String> before = client.connect(uri)) {
            proxy.cut();

            assertThatThrownBy(() -> client.connect(uri)).isInstanceOf(RedisConnectionException.class);
            await().atMost(Duration.ofSeconds(5)).until(() -> !before.isOpen());

            proxy.restore();
            try (StatefulRedisConnection<String, String> after = client.connect(uri)) {
                assertThat(after.sync().ping()).isEqualTo("PONG");
            }
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(before.sync().ping()).isEqualTo("PONG"));
        }
    }

    @Test
    void aBlackholeAcceptsButNeverAnswersUntilRestored() throws Exception {
        proxy.blackhole();
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 1000);
            socket.setSoTimeout(300);
            socket.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThatThrownBy(() -> socket.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
        }

        proxy.restore();
        assertThat(rawPing()).isEqualTo("+PONG");
    }

    private String rawPing() throws Exception {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 1000);
            socket.setSoTimeout(2000);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            byte[] reply = new byte[5];
            int read = 0;
            while (read < reply.length) {
                int n = in.read(reply, read, reply.length - read);
                if (n < 0) {
                    break;
                }
                read += n;
            }
            return new String(reply, 0, read, StandardCharsets.US_ASCII);
        }
    }
}
