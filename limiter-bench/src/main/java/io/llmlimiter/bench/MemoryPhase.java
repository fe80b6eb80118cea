package io.llmlimiter.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import java.time.Duration;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.redisson.api.RRateLimiter;

/**
 * Redis memory per request held in window: admit N requests under a one-hour window that holds
 * 2N, then sum {@code MEMORY USAGE key SAMPLES 0} over every key the system wrote and divide by
 * N. llm-limiter's calls are completed first, so what remains is what a finished call costs
 * until it leaves the window. Not thread-safe.
 */
final class MemoryPhase {

    private static final int THREADS = 16;

    private final RedisProbe probe;
    private final int requests;

    /**
     * @param probe reads memory
     * @param requests requests to hold in window
     */
    MemoryPhase(RedisProbe probe, int requests) {
        this.probe = probe;
        this.requests = requests;
    }

    /**
     * @param limiter llm-limiter, connected directly
     * @param namespace a fresh namespace
     * @return requests, bytes, bytes_per_request and bytes per key
     */
    ObjectNode limiter(LimiterContender limiter, String namespace) throws Exception {
        Target target = LimiterContender.target(namespace, 0);
        limiter.limiter().admin().putConfig(LimitConfig.builder(target).limits("requests=" + 2 * requests + "/1h")
                .leaseTtl(Duration.ofMinutes(10)).maxConcurrent(0).build());
        Queue<Permit> permits = new ConcurrentLinkedQueue<>();
        repeat(t -> permits.add(limiter.limiter().acquire(target, LimiterContender.ESTIMATE, Duration.ofSeconds(5))));
        repeat(t -> permits.remove().complete(LimiterContender.USAGE));
        return result(probe.memory(limiter.keyPattern(namespace)), "bytes_per_request");
    }

    /**
     * @param redisson Redisson's rate limiter
     * @param namespace a fresh namespace
     * @return requests, bytes, bytes_per_permit and bytes per key
     */
    ObjectNode redisson(RedissonRateContender redisson, String namespace) throws Exception {
        RRateLimiter limiter = redisson.limiter(namespace, 2L * requests, Duration.ofHours(1));
        repeat(t -> {
            if (!limiter.tryAcquire()) {
                throw new IllegalStateException("RRateLimiter refused below its rate");
            }
        });
        return result(probe.memory(redisson.keyPattern(namespace)), "bytes_per_permit");
    }

    /**
     * @param bucket4j Bucket4j's proxy manager
     * @param namespace a fresh namespace
     * @return requests, bytes and bytes_per_request (a token bucket keeps no per-request state)
     */
    ObjectNode bucket4j(Bucket4jContender bucket4j, String namespace) throws Exception {
        Contender.Op consume = bucket4j.unlimited(namespace);
        repeat(consume);
        return result(probe.memory(bucket4j.keyPattern(namespace)), "bytes_per_request");
    }

    private ObjectNode result(RedisProbe.Memory memory, String perName) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("requests", requests);
        out.put("bytes", memory.bytes());
        out.put(perName, Math.round(10.0 * memory.bytes() / requests) / 10.0);
        ObjectNode keys = out.putObject("keys");
        for (Map.Entry<String, Long> e : memory.perKey().entrySet()) {
            keys.put(e.getKey(), e.getValue());
        }
        return out;
    }

    /** Runs the action {@code requests} times over 16 threads, so 10,000 round trips take a second, not ten. */
    private void repeat(Contender.Op action) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            Future<?>[] parts = new Future<?>[THREADS];
            for (int t = 0; t < THREADS; t++) {
                int share = requests / THREADS + (t < requests % THREADS ? 1 : 0);
                int thread = t;
                parts[t] = pool.submit(() -> {
                    for (int i = 0; i < share; i++) {
                        action.call(thread);
                    }
                    return null;
                });
            }
            for (Future<?> f : parts) {
                f.get(5, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
