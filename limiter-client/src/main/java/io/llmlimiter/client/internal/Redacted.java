package io.llmlimiter.client.internal;

import java.util.regex.Pattern;

/** Keeps secrets (Redis passwords in URIs) out of messages and logs. This class is thread-safe. */
public final class Redacted {

    private static final Pattern USERINFO = Pattern.compile("(rediss?(?:-sentinel)?(?:\\+\\w+)?://)[^@/]*@");

    private Redacted() {
    }

    /**
     * @param uri a Redis URI, possibly with a password
     * @return the URI with any user info replaced by {@code ***}
     */
    public static String uri(String uri) {
        return uri == null ? "null" : USERINFO.matcher(uri).replaceAll("$1***@");
    }

    /**
     * @param e an exception
     * @return its message with any Redis URI user info removed
     */
    public static String message(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return uri(m);
    }
}
