package io.llmlimiter.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A worker JVM for the fair-share tests: for each {@code tenant:priority:callers:tokens} argument,
 * {@code callers} async callers of that tenant and class that acquire again as soon as they are
 * admitted (the permit is closed at once: a backlogged tenant), until killed. Prints
 * "RUNNING tenant" after a tenant's first admission.
 *
 * <p>Arguments: redisUri target ticketTtlMs tenant:priority:callers:tokens...
 */
public final class TenantWorker {

    private TenantWorker() {
    }

    public static void main(String[] args) throws Exception {
        Target target = Target.parse(args[1]);
        try (LlmLimiter limiter = LlmLimiter.builder().redis(args[0])
                .ticketTtl(Duration.ofMillis(Long.parseLong(args[2]))).build()) {
            List<CompletableFuture<Void>> loops = new ArrayList<>();
            for (int a = 3; a < args.length; a++) {
                String[] p = args[a].split(":");
                Tenant tenant = Tenant.of(p[0], Priority.fromLabel(p[1]));
                Estimate estimate = Estimate.tokens(Long.parseLong(p[3]));
                boolean[] told = {false};
                for (int c = 0; c < Integer.parseInt(p[2]); c++) {
                    CompletableFuture<Void> loop = new CompletableFuture<>();
                    loops.add(loop);
                    next(limiter, target, tenant, estimate, told, loop);
                }
            }
            CompletableFuture.anyOf(loops.toArray(CompletableFuture[]::new)).join();
        }
    }

    private static void next(LlmLimiter limiter, Target target, Tenant tenant, Estimate estimate, boolean[] told,
                             CompletableFuture<Void> loop) {
        limiter.acquireAsync(target, tenant, estimate, Duration.ofMinutes(5)).whenComplete((permit, e) -> {
            if (e != null) {
                System.out.println("FAILED " + tenant + " " + e);
                System.out.flush();
                loop.completeExceptionally(e);
                return;
            }
            permit.close();
            synchronized (told) {
                if (!told[0]) {
                    told[0] = true;
                    System.out.println("RUNNING " + tenant.name());
                    System.out.flush();
                }
            }
            next(limiter, target, tenant, estimate, told, loop);
        });
    }
}
