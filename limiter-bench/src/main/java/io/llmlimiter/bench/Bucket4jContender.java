package io.llmlimiter.bench;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.BucketProxy;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;

/**
 * Bucket4j's Lettuce proxy manager (compare-and-swap: GET the bucket, compute in the JVM, swap
 * by script, retry on conflict) over one Lettuce connection shared by all threads, as Bucket4j's
 * documentation sets it up, with the optimisation its documentation recommends for a hot bucket:
 * {@code Optimizations.batching()} (concurrent requests of one JVM to one bucket are combined into
 * one compare-and-swap; exact, unlike the delaying and predicting optimisations). {@code tryConsume(1)} on an unlimited bucket; blocking
 * {@code asBlocking().consume(1)} under overload. Thread-safe.
 */
public final class Bucket4jContender implements Contender {

    private final RedisClient client;
    private final StatefulRedisConnection<String, byte[]> connection;
    private final ProxyManager<String> buckets;

    /**
     * @param uri the Redis URI
     */
    public Bucket4jContender(String uri) {
        this.client = RedisClient.create(uri);
        this.connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
        this.buckets = Bucket4jLettuce.casBasedBuilder(connection)
                .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(
                        Duration.ofSeconds(10)))
                .build();
    }

    private BucketProxy bucket(String namespace, long capacity, Duration refillPeriod) {
        BucketConfiguration config = BucketConfiguration.builder()
                .addLimit(limit -> limit.capacity(capacity).refillGreedy(capacity, refillPeriod))
                .build();
        return buckets.builder().withOptimization(io.github.bucket4j.distributed.proxy.optimization.Optimizations.batching())
                .build("bench:" + namespace + ":b4j", () -> config);
    }

    @Override
    public String key() {
        return "bucket4j";
    }

    @Override
    public String label() {
        return "Bucket4j Lettuce CAS proxy tryConsume (batching)";
    }

    @Override
    public String blockingLabel() {
        return "Bucket4j asBlocking().consume(1)";
    }

    @Override
    public Op unlimited(String namespace) {
        BucketProxy bucket = bucket(namespace, 100_000_000, Duration.ofSeconds(60));
        return thread -> {
            if (!bucket.tryConsume(1)) {
                throw new IllegalStateException("bucket refused");
            }
        };
    }

    @Override
    public Op overloaded(String namespace, int perSecond) {
        BucketProxy bucket = bucket(namespace, perSecond, Duration.ofSeconds(1));
        // Start empty: a full bucket's burst would take seconds to drain at CAS speed and inflate the rate.
        bucket.tryConsumeAsMuchAsPossible();
        return thread -> bucket.asBlocking().consume(1);
    }

    @Override
    public String keyPattern(String namespace) {
        return "bench:" + namespace + ":b4j";
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown();
    }
}
