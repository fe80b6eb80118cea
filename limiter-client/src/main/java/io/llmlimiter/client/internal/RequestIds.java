package io.llmlimiter.client.internal;

import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/** Random 96-bit request ids, 16 URL-safe characters: short, since the log keeps one per request. */
final class RequestIds {

    private RequestIds() {
    }

    static String next() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
