package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.llmlimiter.testing.JvmProcess;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Redis without persistence restarts (empty) in the middle of a job run by several worker JVMs,
 * with no admin server to write the configs back: no call fails, and the job is not throttled to
 * the default config. And a worker that starts while Redis is away connects when it is back.
 */
@WithRedis
class RedisBlipTest {

    private static final String LIMITS = "requests=10/1s";
    private static final int AMOUNT = 10;
    private static final Duration WINDOW = Duration.ofSeconds(1);

    private final RedisProcess redis;

    RedisBlipTest(RedisProcess redis) {
        this.redis = redis;
    }

    @AfterEach
    void redisIsBack() {
        if (!redis.isRunning()) {
            redis.restart();
        }
    }

    @Test
    void anEmptyRestartMidJobFailsNoCallAndKeepsTheJobNearTheProvidersFloor(@TempDir Path dir) throws Exception {
        Target target = Target.parse("blip/fleet");
        int jvms = 3;
        int callsEach = 30;
        // The provider's floor: every call at the provider's own rate (calls x window / amount).
        double floorSeconds = (double) jvms * callsEach * WINDOW.toMillis() / 1000.0 / AMOUNT;
        Path go = dir.resolve("go");
        try (WindowedProvider provider = new WindowedProvider(AMOUNT, WINDOW)) {
            List<JvmProcess> workers = new ArrayList<>();
            try {
                for (int i = 0; i < jvms; i++) {
                    workers.add(JvmProcess.start(BlipWorker.class, redis.uri(), target.toString(), LIMITS,
                            provider.url(), Integer.toString(callsEach), "4", go.toString(),
                            dir.resolve("out-" + i).toString()));
                }
                for (JvmProcess w : workers) {
                    await().atMost(Duration.ofSeconds(90)).until(() -> w.output().contains("READY")
                            || !w.process().isAlive());
                }
                long t0 = System.currentTimeMillis();
                Files.createFile(go);

                // A quarter of the way in (by calls done, however slow the machine), Redis goes away
                // for about a second and comes back empty.
                await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(20))
                        .until(() -> provider.ok() >= jvms * callsEach / 4);
                int beforeBlip = provider.ok();
                redis.stop();
                Thread.sleep(1000);
                redis.restart();

                int ok = 0;
                int rateLimited = 0;
                long lastDone = 0;
                for (int i = 0; i < jvms; i++) {
                    JvmProcess w = workers.get(i);
                    assertThat(w.process().waitFor(120, TimeUnit.SECONDS)).as(w.output()).isTrue();
                    assertThat(w.process().exitValue()).as(w.output()).isZero();
                    String[] r = Files.readString(dir.resolve("out-" + i)).trim().split(" ");
                    assertThat(Long.parseLong(r[1])).as("failed calls of worker %d:%n%s", i, w.output()).isZero();
                    ok += Integer.parseInt(r[0]);
                    rateLimited += Integer.parseInt(r[2]);
                    lastDone = Math.max(lastDone, Long.parseLong(r[3]));
                }
                double wall = (lastDone - t0) / 1000.0;
                System.out.printf("blip: %d calls ok (%d before the restart), %d provider 429s, %.1f s, floor %.1f s%n",
                        ok, beforeBlip, rateLimited, wall, floorSeconds);
                assertThat(beforeBlip).as("the restart came mid-job").isBetween(1, jvms * callsEach - 1);
                assertThat(ok).isEqualTo(jvms * callsEach);
                assertThat(provider.ok()).isEqualTo(jvms * callsEach);
                // On the default config (10 per minute) the rest of the job would take minutes.
                assertThat(wall).as("wall time against the floor").isLessThanOrEqualTo(2 * floorSeconds);
            } finally {
                workers.forEach(JvmProcess::close);
            }
        }
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build()) {
            LimitConfig config = limiter.admin().config(target).orElseThrow();
            assertThat(config.autoCreated()).isFalse();
            assertThat(Limit.formatAll(config.limits())).isEqualTo(Limit.formatAll(Limit.parseAll(LIMITS)));
        }
    }

    @Test
    void aWorkerStartedWhileRedisIsDownConnectsWhenItComesBack(@TempDir Path dir) throws Exception {
        Target target = Target.parse("blip/late");
        Path go = dir.resolve("go");
        Files.createFile(go);
        try (WindowedProvider provider = new WindowedProvider(AMOUNT, WINDOW)) {
            redis.stop();
            try (JvmProcess w = JvmProcess.start(BlipWorker.class, redis.uri(), target.toString(), LIMITS,
                    provider.url(), "12", "3", go.toString(), dir.resolve("out").toString())) {
                // Built without Redis: the worker is up, its calls wait.
                await().atMost(Duration.ofSeconds(90)).until(() -> w.output().contains("READY")
                        || !w.process().isAlive());
                assertThat(w.process().isAlive()).as(w.output()).isTrue();
                assertThat(w.output()).contains("READY");
                Thread.sleep(1000);
                assertThat(provider.ok()).isZero();
                redis.restart();

                assertThat(w.process().waitFor(120, TimeUnit.SECONDS)).as(w.output()).isTrue();
                assertThat(w.process().exitValue()).as(w.output()).isZero();
                String[] r = Files.readString(dir.resolve("out")).trim().split(" ");
                assertThat(r[0]).as(w.output()).isEqualTo("12");
                assertThat(r[1]).as(w.output()).isEqualTo("0");
                assertThat(provider.ok()).isEqualTo(12);
            }
        }
    }

    /**
     * A provider that counts requests on arrival in a sliding window and answers 429 with
     * {@code Retry-After} beyond its amount, as real providers do.
     */
    static final class WindowedProvider implements AutoCloseable {
        private final HttpServer server;
        private final int amount;
        private final long windowNanos;
        private final ArrayDeque<Long> arrivals = new ArrayDeque<>();
        private final AtomicInteger ok = new AtomicInteger();

        WindowedProvider(int amount, Duration window) throws IOException {
            this.amount = amount;
            this.windowNanos = window.toNanos();
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(16));
            server.createContext("/", exchange -> {
                boolean admitted = admit();
                byte[] body = (admitted ? StubProvider.OK_BODY : "{\"error\":{\"message\":\"rate limited\"}}")
                        .getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("content-type", "application/json");
                if (!admitted) {
                    exchange.getResponseHeaders().add("retry-after", "1");
                }
                exchange.sendResponseHeaders(admitted ? 200 : 429, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.start();
        }

        private synchronized boolean admit() {
            long now = System.nanoTime();
            while (!arrivals.isEmpty() && arrivals.peekFirst() <= now - windowNanos) {
                arrivals.pollFirst();
            }
            if (arrivals.size() >= amount) {
                return false;
            }
            arrivals.addLast(now);
            ok.incrementAndGet();
            return true;
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1/chat/completions";
        }

        int ok() {
            return ok.get();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
