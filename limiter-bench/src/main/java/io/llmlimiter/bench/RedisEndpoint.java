package io.llmlimiter.bench;

import io.lettuce.core.RedisCredentials;
import io.lettuce.core.RedisURI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Where the Redis under test listens, split into the parts each client library wants: Lettuce
 * and llm-limiter take a URI, Redisson takes an address plus credentials. Immutable.
 *
 * @param host host name or address
 * @param port TCP port
 * @param username ACL user, or null
 * @param password password, or null
 * @param tls whether the connection uses TLS ({@code rediss://})
 * @param database logical database number
 */
public record RedisEndpoint(String host, int port, String username, String password, boolean tls, int database) {

    /**
     * @param uri a Redis URI such as {@code redis://127.0.0.1:6380} or {@code rediss://user:pw@host:6379/2}
     * @return its parts
     * @throws IllegalArgumentException when the URI cannot be parsed
     */
    public static RedisEndpoint parse(String uri) {
        RedisURI u;
        try {
            u = RedisURI.create(uri);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a Redis URI: " + uri, e);
        }
        RedisCredentials c = u.getCredentialsProvider() == null ? null
                : u.getCredentialsProvider().resolveCredentials().block();
        String username = c != null && c.hasUsername() ? c.getUsername() : null;
        String password = c != null && c.hasPassword() ? new String(c.getPassword()) : null;
        return new RedisEndpoint(u.getHost(), u.getPort(), username, password, u.isSsl(), u.getDatabase());
    }

    /** @return the URI for Lettuce and llm-limiter, credentials included */
    public String uri() {
        StringBuilder b = new StringBuilder(tls ? "rediss://" : "redis://");
        if (password != null) {
            if (username != null) {
                b.append(encode(username)).append(':');
            }
            b.append(encode(password)).append('@');
        }
        b.append(host).append(':').append(port);
        if (database != 0) {
            b.append('/').append(database);
        }
        return b.toString();
    }

    /** @return the address for Redisson, without credentials (Redisson takes those apart) */
    public String address() {
        return (tls ? "rediss://" : "redis://") + host + ":" + port;
    }

    /** @return the URI with its password masked, for reports */
    public String redacted() {
        return (tls ? "rediss://" : "redis://") + (password == null ? "" : "***@") + host + ":" + port
                + (database == 0 ? "" : "/" + database);
    }

    /**
     * @param newHost another host
     * @param newPort another port
     * @return this endpoint with the same credentials at another address (a proxy in front of it)
     */
    public RedisEndpoint at(String newHost, int newPort) {
        return new RedisEndpoint(newHost, newPort, username, password, tls, database);
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
