package io.llmlimiter.scripts;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The limiter's Lua scripts, one per operation. Each file opens with a header that lists its
 * KEYS, ARGV and reply; all scripts take the same keys of one target.
 *
 * <p>This enum is thread-safe.
 */
public enum LuaScript {
    /** Admit a request or refuse it with the exact time it could succeed. */
    ACQUIRE("acquire.lua"),
    /** Release a lease and account the actual usage. */
    COMPLETE("complete.lua"),
    /** Extend a lease while its call runs. */
    RENEW("renew.lua"),
    /** Write a target's config. */
    SET_CONFIG("set_config.lua"),
    /** Pause every client of a target after a provider 429. */
    COOLDOWN("cooldown.lua"),
    /** Record the budget the provider says remains. */
    SIGNAL("signal.lua"),
    /** Forget a target's window state. */
    RESET("reset.lua"),
    /** Read a target's current usage. */
    USAGE("usage.lua"),
    /** Take a waiter that gave up out of the line. */
    CANCEL("cancel.lua"),
    /** Move the effective limits toward what the provider enforces (a 429, or its stated limits). */
    LEARN("learn.lua"),
    /** Record the cost of completions, per target and per tenant, and the admission waits the client added up. */
    SPEND("spend.lua"),
    /** Correct tenants' fair-share counters to the tokens their completed calls used. */
    SERVED("served.lua");

    private static final String INCLUDE = "--#include ";

    private final String file;
    private final String source;
    private final String sha1;

    LuaScript(String file) {
        this.file = file;
        this.source = load(file);
        this.sha1 = sha1(source);
    }

    /** @return the file name of the script, e.g. {@code acquire.lua} */
    public String file() {
        return file;
    }

    /** @return the Lua source */
    public String source() {
        return source;
    }

    /** @return the SHA-1 digest Redis uses to name the script in {@code EVALSHA} */
    public String sha1() {
        return sha1;
    }

    /** Reads a script, replacing each line {@code --#include name.lua} with that file's text. */
    private static String load(String file) {
        StringBuilder out = new StringBuilder();
        for (String line : read(file).split("\n", -1)) {
            if (line.startsWith(INCLUDE)) {
                out.append(read(line.substring(INCLUDE.length()).trim()));
            } else {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    private static String read(String file) {
        try (InputStream in = LuaScript.class.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException("missing script resource " + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha1(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
