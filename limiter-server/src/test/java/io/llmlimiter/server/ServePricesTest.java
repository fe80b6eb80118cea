package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.PriceSync;
import io.llmlimiter.client.internal.RedisLimiter;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code serve --prices FILE}: the file's table goes to Redis for every client, or the start fails naming the field. */
@WithRedis
class ServePricesTest {

    private static ServeCommand.Running start(String... args) throws Exception {
        Map<String, String> env = Map.of(ServeCommand.TOKEN_ENV, TestServer.TOKEN);
        ServeCommand cmd = new ServeCommand(env::get, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        new CommandLine(cmd).parseArgs(args);
        return cmd.start();
    }

    @Test
    void aTableGivenAtStartReachesEveryClientAndABadOneStopsTheStartNamingTheField(RedisProcess redis, @TempDir Path dir)
            throws Exception {
        Path good = dir.resolve("prices.json");
        Files.writeString(good, "{\"currency\": \"USD\", \"providers\": [{\"id\": \"mock\", \"models\": [{\"id\": \"m\", "
                + "\"match\": {\"starts_with\": \"m\"}, \"prices\": {\"input_mtok\": 3, \"output_mtok\": 15}}]}]}");
        try (ServeCommand.Running r = start("--redis", redis.uri(), "--host", "127.0.0.1", "--port", "0",
                "--config-file", dir.resolve("a.json").toString(), "--prices", good.toString());
             LlmLimiter client = LlmLimiter.builder().redis(redis.uri()).build()) {
            ((RedisLimiter) client).priceSync().check().join();
            assertThat(((RedisLimiter) client).pricing().table().find(new Target("mock", "model-1"))).isPresent();
        }

        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, Files.readString(good).replace("15", "\"lots\""));
        assertThatThrownBy(() -> start("--redis", redis.uri(), "--host", "127.0.0.1", "--port", "0",
                "--config-file", dir.resolve("b.json").toString(), "--prices", bad.toString()))
                .hasMessageContaining("--prices").hasMessageContaining("providers[mock].models[m].prices.output_mtok");
        // The table in force stays the one loaded before.
        try (LlmLimiter client = LlmLimiter.builder().redis(redis.uri()).build()) {
            ((RedisLimiter) client).priceSync().check().join();
            assertThat(((RedisLimiter) client).pricing().table().find(new Target("mock", "model-1"))).isPresent();
        }
        assertThat(PriceSync.KEY).isEqualTo("llmlim:{_default}:prices");
    }
}
