package io.llmlimiter.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A TCP pass-through in front of Redis that counts the commands clients send: the client round
 * trips of a system, whatever client library it uses and however it pipelines. Redis's own
 * counters cannot tell them apart from the commands scripts run internally. Replies and pub/sub
 * messages pass uncounted. Two threads per connection; plaintext only. Thread-safe.
 */
public final class CountingProxy implements AutoCloseable {

    private final RedisEndpoint upstream;
    private final ServerSocket server;
    private final LongAdder commands = new LongAdder();
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * Starts listening on a free loopback port.
     *
     * @param upstream the Redis to forward to
     * @throws IOException when no port can be bound
     */
    public CountingProxy(RedisEndpoint upstream) throws IOException {
        if (upstream.tls()) {
            throw new IllegalArgumentException("cannot count commands inside TLS; use a redis:// URI");
        }
        this.upstream = upstream;
        this.server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** @return where clients connect instead of Redis */
    public RedisEndpoint endpoint() {
        return upstream.at("127.0.0.1", server.getLocalPort());
    }

    /** @return commands forwarded so far */
    public long commands() {
        return commands.sum();
    }

    private void accept() {
        while (!closed) {
            Socket client = null;
            try {
                client = server.accept();
                Socket redis = new Socket();
                redis.connect(new InetSocketAddress(upstream.host(), upstream.port()), 5000);
                for (Socket s : new Socket[] {client, redis}) {
                    s.setTcpNoDelay(true);
                    sockets.add(s);
                }
                pump(client, redis, true);
                pump(redis, client, false);
            } catch (IOException e) {
                if (client != null) {
                    closeQuietly(client);
                }
                if (!closed) {
                    System.err.println("proxy: " + e.getMessage());
                }
            }
        }
    }

    private void pump(Socket from, Socket to, boolean count) {
        Thread t = new Thread(null, () -> {
            RespCommandCounter counter = new RespCommandCounter();
            byte[] buf = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (count) {
                        long before = counter.commands();
                        counter.feed(buf, 0, n);
                        commands.add(counter.commands() - before);
                    }
                    out.write(buf, 0, n);
                }
            } catch (IOException e) {
                // The other side closed; closing both ends below ends the opposite pump too.
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "proxy-" + (count ? "up" : "down"), 256 * 1024);
        t.setDaemon(true);
        t.start();
    }

    private void closeQuietly(Socket s) {
        sockets.remove(s);
        try {
            s.close();
        } catch (IOException e) {
            // Already closed.
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // Closing anyway.
        }
        sockets.forEach(this::closeQuietly);
    }
}
