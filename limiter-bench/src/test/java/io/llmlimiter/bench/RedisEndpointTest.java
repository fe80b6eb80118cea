package io.llmlimiter.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RedisEndpointTest {

    @Test
    void keepsCredentialsForClientsButNotForReports() {
        RedisEndpoint e = RedisEndpoint.parse("redis://bench:s3cret@10.0.0.5:6380/2");

        assertThat(e.host()).isEqualTo("10.0.0.5");
        assertThat(e.port()).isEqualTo(6380);
        assertThat(e.username()).isEqualTo("bench");
        assertThat(e.password()).isEqualTo("s3cret");
        assertThat(e.uri()).isEqualTo("redis://bench:s3cret@10.0.0.5:6380/2");
        assertThat(e.address()).isEqualTo("redis://10.0.0.5:6380");
        assertThat(e.redacted()).isEqualTo("redis://***@10.0.0.5:6380/2").doesNotContain("s3cret");
    }

    @Test
    void movesToAProxyKeepingTheRest() {
        RedisEndpoint e = RedisEndpoint.parse("redis://127.0.0.1:7000").at("127.0.0.1", 7001);

        assertThat(e.uri()).isEqualTo("redis://127.0.0.1:7001");
        assertThat(e.password()).isNull();
    }
}
