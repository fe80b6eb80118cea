package io.llmlimiter.server;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.llmlimiter.server.ProblemException.Kind;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;

/**
 * Requires {@code Authorization: Bearer <admin token>}. Both tokens are hashed and the digests
 * compared with {@link MessageDigest#isEqual}, so the time taken reveals neither the token nor its
 * length. The token is never logged. This class is immutable and thread-safe.
 */
final class BearerAuth implements Handler {

    private static final String CHALLENGE = "Bearer realm=\"llm-limiter\"";

    private final byte[] expected;

    /** @param token the admin token */
    BearerAuth(String token) {
        this.expected = sha256(token);
    }

    /**
     * @param ctx the request
     * @throws ProblemException 401 when the token is missing or wrong
     */
    @Override
    public void handle(Context ctx) {
        String header = ctx.header("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ProblemException(Kind.UNAUTHORIZED, "Send the admin token as 'Authorization: Bearer <token>'.",
                    List.of(), Map.of("WWW-Authenticate", CHALLENGE));
        }
        if (!MessageDigest.isEqual(sha256(header.substring(7).trim()), expected)) {
            throw new ProblemException(Kind.UNAUTHORIZED, "The admin token is wrong.", List.of(),
                    Map.of("WWW-Authenticate", CHALLENGE + ", error=\"invalid_token\""));
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
