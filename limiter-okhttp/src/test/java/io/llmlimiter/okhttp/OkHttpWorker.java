package io.llmlimiter.okhttp;

import io.llmlimiter.client.LlmLimiter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * A worker JVM of the multi-process test: threads post chat requests through OkHttp with the
 * interceptor from a common start time, then print {@code ok N errors M}.
 *
 * <p>Arguments: redisUri baseUrl model threads callsPerThread startEpochMillis
 */
public final class OkHttpWorker {

    private OkHttpWorker() {
    }

    public static void main(String[] args) throws Exception {
        String redis = args[0];
        String baseUrl = args[1];
        String model = args[2];
        int threads = Integer.parseInt(args[3]);
        int calls = Integer.parseInt(args[4]);
        long start = Long.parseLong(args[5]);
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        String body = "{\"model\":\"" + model + "\",\"max_tokens\":50,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Say something short.\"}]}";
        try (LlmLimiter limiter = LlmLimiter.builder().redis(redis).build()) {
            OkHttpClient http = new OkHttpClient.Builder().addInterceptor(LlmLimiterInterceptor.of(limiter)).build();
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(() -> {
                    try {
                        Thread.sleep(Math.max(0, start - System.currentTimeMillis()));
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int c = 0; c < calls; c++) {
                        Request request = new Request.Builder().url(baseUrl + "/v1/chat/completions")
                                .post(RequestBody.create(body, MediaType.get("application/json"))).build();
                        try (Response r = http.newCall(request).execute()) {
                            if (r.code() == 200) {
                                ok.incrementAndGet();
                            } else {
                                errors.incrementAndGet();
                                System.out.println("ERROR HTTP " + r.code());
                            }
                        } catch (Exception e) {
                            errors.incrementAndGet();
                            System.out.println("ERROR " + e);
                        }
                    }
                });
                t.start();
                workers.add(t);
            }
            for (Thread t : workers) {
                t.join();
            }
            http.dispatcher().executorService().shutdown();
            http.connectionPool().evictAll();
        }
        System.out.println("ok " + ok.get() + " errors " + errors.get());
    }
}
