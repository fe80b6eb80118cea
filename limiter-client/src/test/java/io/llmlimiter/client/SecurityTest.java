package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import io.lettuce.core.AclCategory;
import io.lettuce.core.AclSetuserArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.testing.LogCapture;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.SelfSignedTls;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Redis AUTH, ACL users and TLS end to end; no secret in logs, metrics or exception messages. */
@Tag("redis-features")
class SecurityTest {

    private static final String PASSWORD = "pw-Zq81xK3vR7";
    private static final String ACL_PASSWORD = "acl-Mb55tY9wQ2";

    @Test
    void aPasswordProtectedRedisWorksAndAWrongPasswordFailsWithoutShowingIt() {
        try (RedisProcess redis = RedisProcess.start("--requirepass", PASSWORD);
             LogCapture logs = LogCapture.start(Level.DEBUG)) {
            String uri = "redis://:" + PASSWORD + "@127.0.0.1:" + redis.port();
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            exercise(uri, meters);

            String wrong = "redis://:" + PASSWORD + "-wrong@127.0.0.1:" + redis.port();
            assertThatThrownBy(() -> LlmLimiter.builder().redis(wrong).build())
                    .isInstanceOf(LimiterUnavailableException.class)
                    .satisfies(e -> assertThat(fullText(e)).doesNotContain(PASSWORD));

            assertThat(logs.text()).isNotEmpty().doesNotContain(PASSWORD);
            assertNoSecretInMeters(meters, PASSWORD);
        }
    }

    @Test
    void anAclUserLimitedToTheLimitersKeysWorks() {
        try (RedisProcess redis = RedisProcess.start();
             RedisClient admin = RedisClient.create(redis.uri());
             StatefulRedisConnection<String, String> c = admin.connect();
             LogCapture logs = LogCapture.start(Level.DEBUG)) {
            // The user documented in docs/OPERATIONS.md: its own keys and channels, and the commands
            // the scripts and the client run there. resetchannels first: Redis 6.2 gives new users
            // allchannels, after which a channel pattern is an error (7.0 starts them with none).
            c.sync().aclSetuser("limiter", new AclSetuserArgs().on().addPassword(ACL_PASSWORD).keyPattern("llmlim:*")
                    .resetChannels().channelPattern("llmlim:*").addCategory(AclCategory.CONNECTION).addCategory(AclCategory.SCRIPTING)
                    .addCategory(AclCategory.HASH).addCategory(AclCategory.SORTEDSET).addCategory(AclCategory.KEYSPACE)
                    .addCategory(AclCategory.PUBSUB).addCommand(CommandType.TIME).removeCategory(AclCategory.DANGEROUS));
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            exercise("redis://limiter:" + ACL_PASSWORD + "@127.0.0.1:" + redis.port(), meters);
            assertThat(logs.text()).doesNotContain(ACL_PASSWORD);
            assertNoSecretInMeters(meters, ACL_PASSWORD);
        }
    }

    @Test
    void tlsWithASelfSignedCertificateWorksEndToEnd() {
        try (SelfSignedTls tls = SelfSignedTls.generate();
             SelfSignedTls.TlsRedis redis = tls.startRedis("--requirepass", PASSWORD);
             LogCapture logs = LogCapture.start(Level.DEBUG)) {
            String uri = "rediss://:" + PASSWORD + "@127.0.0.1:" + redis.tlsPort();
            Target t = Target.parse("tls/model");
            try (LlmLimiter limiter = LlmLimiter.builder().redis(uri).trustedCertificate(tls.caCert()).build()) {
                limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=5/1s").build());
                limiter.acquire(t, Estimate.tokens(10), Duration.ofSeconds(2)).complete(Usage.of(3, 4));
                assertThat(limiter.admin().stats(t)).containsEntry("admitted", 1L);
            }
            // Without trusting the certificate, the connection is refused, and says so without the password.
            assertThatThrownBy(() -> LlmLimiter.builder().redis(uri).build())
                    .isInstanceOf(LimiterUnavailableException.class)
                    .satisfies(e -> assertThat(fullText(e)).doesNotContain(PASSWORD));
            assertThat(logs.text()).doesNotContain(PASSWORD);
        }
    }

    private static void exercise(String uri, SimpleMeterRegistry meters) {
        Target t = Target.parse("secure/model");
        try (LlmLimiter limiter = LlmLimiter.builder().redis(uri).meterRegistry(meters).build()) {
            limiter.admin().putConfig(LimitConfig.builder(t).limits("requests=1/10s").maxConcurrent(1).build());
            limiter.acquire(t, Estimate.tokens(10), Duration.ofSeconds(2)).complete(Usage.of(3, 4));
            assertThatThrownBy(() -> limiter.acquire(t, Estimate.tokens(10), Duration.ofMillis(100)).close())
                    .satisfies(e -> assertThat(fullText(e)).doesNotContain(PASSWORD).doesNotContain(ACL_PASSWORD));
            limiter.tryAcquire(t, Estimate.tokens(10)).ifPresent(Permit::close);
            assertThat(limiter.admin().targets()).contains(t);
        }
    }

    private static void assertNoSecretInMeters(SimpleMeterRegistry meters, String secret) {
        assertThat(meters.getMeters()).isNotEmpty();
        for (Meter m : meters.getMeters()) {
            assertThat(m.getId().toString()).doesNotContain(secret);
        }
    }

    private static String fullText(Throwable e) {
        java.io.StringWriter w = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(w));
        return w.toString();
    }
}
