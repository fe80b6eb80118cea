package io.llmlimiter.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Sanity tests for {@link RedisWire} against a real server. */
@WithRedis
class RedisWireTest {

    @Test
    void repliesAreDecodedToStringsLongsListsAndNull(RedisProcess redis) {
        int port = redis.port();
        assertThat(RedisWire.call(port, "PING")).isEqualTo("PONG");
        assertThat(RedisWire.call(port, "SET", "wire:k", "välue\r\nwith lines")).isEqualTo("OK");
        assertThat(RedisWire.call(port, "GET", "wire:k")).isEqualTo("välue\r\nwith lines");
        assertThat(RedisWire.call(port, "GET", "wire:missing")).isNull();
        assertThat(RedisWire.call(port, "RPUSH", "wire:list", "a", "b")).isEqualTo(2L);
        assertThat(RedisWire.call(port, "LRANGE", "wire:list", "0", "-1")).isEqualTo(List.of("a", "b"));
        assertThat(RedisWire.info(port, "server", "tcp_port")).isEqualTo(String.valueOf(port));
    }

    @Test
    void errorRepliesAndUnreachableServersThrow(RedisProcess redis) {
        assertThatThrownBy(() -> RedisWire.call(redis.port(), "NOSUCHCOMMAND"))
                .isInstanceOf(RedisWire.ErrorReply.class).hasMessageStartingWith("ERR unknown command");
        int closedPort = RedisProcess.reservePort();
        assertThatThrownBy(() -> RedisWire.call(closedPort, "PING")).isInstanceOf(UncheckedIOException.class);
    }
}
