package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LlmLimiter;
import io.llmlimiter.client.ModelPrice;
import io.llmlimiter.client.PriceTable;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.internal.PriceSync;
import io.llmlimiter.client.internal.Pricing;
import io.llmlimiter.client.internal.RedisLimiter;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The price table is swapped whole: while {@code PUT /api/v1/prices} and the clients' reload from
 * Redis swap two tables back and forth, every reader (REST, the table, the pricing of calls) sees
 * all of one table or all of the other, and a table that does not parse never lands anywhere.
 */
@WithRedis
class PriceReloadAtomicityTest {

    private static final Target SHARED = new Target("mock", "shared");
    private static final Target ONLY_A = new Target("mock", "only-a");
    private static final Target ONLY_B = new Target("mock", "only-b");
    private static final Estimate CALL = Estimate.of(1_000_000, 1_000_000);

    private static final String A = table(model("shared", "1", "2"), model("only-a", "3", "4"));
    private static final String B = table(model("shared", "5", "6"), model("only-b", "7", "8"), model("extra-b", "9", "10"));
    /** One good model and one bad one: refused whole. */
    private static final String BAD = table(model("shared", "11", "12"), model("broken", "-1", "2"));

    private static String model(String id, String input, String output) {
        return "{\"id\": \"" + id + "\", \"match\": {\"equals\": \"" + id + "\"}, \"prices\": {\"input_mtok\": " + input
                + ", \"output_mtok\": " + output + "}}";
    }

    private static String table(String... models) {
        return "[{\"id\": \"mock\", \"models\": [" + String.join(", ", models) + "]}]";
    }

    /** Which whole table this is: "A", "B", or a description of the mix. */
    private static String which(PriceTable t) {
        ModelPrice a = PriceTable.parse(A).find(SHARED).orElseThrow();
        ModelPrice b = PriceTable.parse(B).find(SHARED).orElseThrow();
        ModelPrice shared = t.find(SHARED).orElse(null);
        boolean onlyA = t.find(ONLY_A).isPresent();
        boolean onlyB = t.find(ONLY_B).isPresent();
        if (t.size() == 2 && a.equals(shared) && onlyA && !onlyB) {
            return "A";
        }
        if (t.size() == 3 && b.equals(shared) && onlyB && !onlyA) {
            return "B";
        }
        return "a mix: " + t.size() + " models, shared " + shared + ", only-a " + onlyA + ", only-b " + onlyB;
    }

    private static String put(TestServer s, String table) {
        HttpResponse<String> r = s.send("PUT", "/api/v1/prices", table);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("sha").asText();
    }

    @Test
    void readersSeeAllOfOneTableWhileTwoAreSwappedRepeatedlyAndABadOneNeverLands(RedisProcess redis) throws Exception {
        RedisClient raw = RedisClient.create(redis.uri());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (TestServer s = TestServer.start(redis.uri());
             LlmLimiter limiter = LlmLimiter.builder().redis(redis.uri()).build();
             StatefulRedisConnection<String, String> conn = raw.connect()) {
            Pricing pricing = ((RedisLimiter) limiter).pricing();
            PriceSync sync = ((RedisLimiter) limiter).priceSync();
            String shaA = put(s, A);
            sync.check().join();
            String shaB = put(s, B);
            sync.check().join();
            String shaBad = PriceSync.sha1(BAD);
            Map<String, Integer> modelsBySha = Map.of(shaA, 2, shaB, 3, shaBad, 0);
            long costA = PriceTable.parse(A).find(SHARED).orElseThrow().microUsd(CALL);
            long costB = PriceTable.parse(B).find(SHARED).orElseThrow().microUsd(CALL);
            assertThat(costA).isNotEqualTo(costB);

            AtomicBoolean done = new AtomicBoolean();
            Queue<String> wrong = new ConcurrentLinkedQueue<>();
            AtomicLong restReads = new AtomicLong();
            AtomicLong tableReads = new AtomicLong();
            AtomicLong priceReads = new AtomicLong();
            List<Future<?>> readers = new ArrayList<>();
            readers.add(pool.submit(() -> {
                while (!done.get()) {
                    HttpResponse<String> r = s.get("/api/v1/prices");
                    JsonNode body = json(r);
                    String sha = body.path("sha").asText();
                    Integer expected = modelsBySha.get(sha);
                    if (r.statusCode() != 200 || expected == null || !body.has("models")
                            || body.get("models").asInt() != expected) {
                        wrong.add("GET " + r.statusCode() + " " + r.body());
                    }
                    restReads.incrementAndGet();
                }
            }));
            readers.add(pool.submit(() -> {
                while (!done.get()) {
                    String w = which(pricing.table());
                    if (!w.equals("A") && !w.equals("B")) {
                        wrong.add("table: " + w);
                    }
                    tableReads.incrementAndGet();
                }
            }));
            readers.add(pool.submit(() -> {
                while (!done.get()) {
                    long cost = pricing.estimate(SHARED, null, CALL);
                    if (cost != costA && cost != costB) {
                        wrong.add("priced at " + cost);
                    }
                    priceReads.incrementAndGet();
                }
            }));
            // The clients' periodic reload, at full speed, racing the reloads of the writer below.
            readers.add(pool.submit(() -> {
                while (!done.get()) {
                    sync.check().join();
                }
            }));

            try {
                for (int round = 0; round < 40; round++) {
                    String last = null;
                    for (String table : List.of(A, B)) {
                        put(s, table);
                        sync.check().join();
                        last = which(pricing.table());
                        assertThat(last).as("round %d: the reload after a PUT applies it", round)
                                .isEqualTo(table == A ? "A" : "B");
                    }
                    if (round % 5 == 0) {
                        // Refused over REST, and by the clients when it reaches Redis some other way.
                        assertThat(s.send("PUT", "/api/v1/prices", BAD).statusCode()).isEqualTo(400);
                        conn.sync().hset(PriceSync.KEY, Map.of("json", BAD, "sha", shaBad));
                        sync.check().join();
                        assertThat(which(pricing.table())).isEqualTo(last);
                    }
                }
            } finally {
                done.set(true);
                for (Future<?> f : readers) {
                    f.get();
                }
            }

            assertThat(wrong).as("reads that saw neither table whole").isEmpty();
            assertThat(restReads.get()).isPositive();
            assertThat(tableReads.get()).isPositive();
            assertThat(priceReads.get()).isPositive();
            // The last table put is the one in force, and no price cached from the one before survives.
            assertThat(which(pricing.table())).isEqualTo("B");
            assertThat(pricing.estimate(SHARED, null, CALL)).isEqualTo(costB);
            assertThat(pricing.price(ONLY_A, null)).isNull();
            assertThat(json(s.get("/api/v1/prices")).get("sha").asText()).isEqualTo(shaB);
        } finally {
            pool.shutdownNow();
            raw.shutdown();
        }
    }
}
