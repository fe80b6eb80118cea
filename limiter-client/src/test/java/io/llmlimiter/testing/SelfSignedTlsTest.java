package io.llmlimiter.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.SslVerifyMode;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Sanity tests for {@link SelfSignedTls} with a real TLS-enabled Redis and Lettuce. */
class SelfSignedTlsTest {

    private static SelfSignedTls tls;
    private static SelfSignedTls.TlsRedis redis;

    @BeforeAll
    static void startTlsRedis() {
        tls = SelfSignedTls.generate();
        redis = tls.startRedis();
    }

    @AfterAll
    static void stopTlsRedis() {
        try {
            if (redis != null) {
                redis.close();
            }
        } finally {
            tls.close();
        }
    }

    @Test
    void theGeneratedFilesExistAndTheArgumentsNameThem() {
        assertThat(tls.caCert()).isRegularFile().content().contains("BEGIN CERTIFICATE");
        assertThat(tls.serverCert()).isRegularFile().content().contains("BEGIN CERTIFICATE");
        assertThat(tls.serverKey()).isRegularFile().content().contains("PRIVATE KEY");
        assertThat(tls.redisArgs(21000)).containsSequence("--tls-port", "21000")
                .containsSequence("--tls-cert-file", tls.serverCert().toString())
                .containsSequence("--tls-key-file", tls.serverKey().toString())
                .containsSequence("--tls-ca-cert-file", tls.caCert().toString())
                .containsSequence("--tls-auth-clients", "no");
        assertThat(redis.tlsUri()).isEqualTo("rediss://127.0.0.1:" + redis.tlsPort());
    }

    @Test
    void aMissingOpensslBinaryFailsWithAMessageSayingWhatToInstall() {
        assertThatThrownBy(() -> SelfSignedTls.generate("/nonexistent/openssl"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("openssl binary is needed")
                .hasMessageContaining("install OpenSSL");
    }

    @Test
    void aClientTrustingTheCaConnectsWithPeerVerificationAndPings() {
        RedisURI uri = RedisURI.create(redis.tlsUri());
        assertThat(uri.isSsl()).isTrue();
        assertThat(uri.getVerifyMode()).isEqualTo(SslVerifyMode.FULL);
        SslOptions ssl = SslOptions.builder().jdkSslProvider().trustManager(tls.caCert().toFile()).build();
        RedisClient client = RedisClient.create(uri);
        client.setOptions(ClientOptions.builder().sslOptions(ssl).build());
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            assertThat(connection.sync().ping()).isEqualTo("PONG");
        } finally {
            client.shutdown(0, 2, TimeUnit.SECONDS);
        }
    }

    @Test
    void aClientWithoutTheCaIsRefusedTheConnection() {
        RedisURI uri = RedisURI.create(redis.tlsUri());
        uri.setTimeout(Duration.ofSeconds(5));
        RedisClient client = RedisClient.create(uri);
        client.setOptions(ClientOptions.builder().sslOptions(SslOptions.builder().jdkSslProvider().build()).build());
        try {
            assertThatThrownBy(client::connect).isInstanceOf(RedisConnectionException.class)
                    .hasStackTraceContaining("SSLHandshakeException");
        } finally {
            client.shutdown(0, 2, TimeUnit.SECONDS);
        }
    }
}
