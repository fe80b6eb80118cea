package io.llmlimiter.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on 127.0.0.1 in front of a Redis port that injects network faults, for testing how
 * clients behave when Redis is slow, silent or unreachable. Thread-per-direction blocking I/O: each
 * client connection gets its own upstream connection and two pump threads.
 *
 * <p>Faults, each switchable at any time: {@link #latency(Duration)} delays every forwarded chunk
 * (in both directions, so a round trip takes at least twice as long); {@link #stall()} holds all
 * bytes back with sockets open until {@link #resume()}; {@link #dropConnections()} resets every
 * current connection (RST); {@link #cut()} refuses connections until {@link #restore()};
 * {@link #blackhole()} accepts connections but never forwards nor answers until {@link #restore()};
 * {@link #dropReplies()} forwards requests but throws Redis's answers away until {@link #restore()}
 * (commands run, their replies are lost).
 *
 * <p>The port comes from {@link RedisProcess#reservePort()} (below the ephemeral range, so it can be
 * bound again after a cut). This class is thread-safe.
 */
public final class FaultProxy implements AutoCloseable {

    private static final String HOST = "127.0.0.1";
    private static final int CONNECT_TIMEOUT_MS = 2000;
    private static final int BIND_ATTEMPTS = 5;

    private final int targetPort;
    private final int port;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private final Object stallLock = new Object();
    private volatile long latencyNanos;
    private volatile boolean blackholed;
    private volatile boolean repliesDropped;
    private boolean stalled;
    private volatile boolean cut;
    private volatile boolean closed;
    private ServerSocket server;

    private FaultProxy(int targetPort, ServerSocket server) {
        this.targetPort = targetPort;
        this.server = server;
        this.port = server.getLocalPort();
        startAcceptor(server);
    }

    /**
     * Starts a proxy in front of {@code 127.0.0.1:targetPort}, forwarding faithfully until a fault is
     * switched on.
     *
     * @param targetPort the Redis port to forward to
     * @return the running proxy
     * @throws IllegalStateException if no port could be bound
     */
    public static FaultProxy start(int targetPort) {
        IOException last = null;
        for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
            try {
                return new FaultProxy(targetPort, bind(RedisProcess.reservePort()));
            } catch (IOException e) {
                last = e;
            }
        }
        throw new IllegalStateException("Could not bind a proxy port in front of " + targetPort, last);
    }

    /**
     * Starts a proxy in front of a running Redis server.
     *
     * @param redis the server (a local backend, listening on 127.0.0.1)
     * @return the running proxy
     */
    public static FaultProxy start(RedisProcess redis) {
        return start(redis.port());
    }

    /** @return the port clients connect to */
    public int port() {
        return port;
    }

    /** @return the proxy address as a Redis URI, {@code redis://127.0.0.1:port} */
    public String uri() {
        return "redis://" + HOST + ":" + port;
    }

    /** @return the port forwarded to */
    public int targetPort() {
        return targetPort;
    }

    /** @return how many client connections were accepted so far, cut-off and blackholed ones included */
    public int acceptedConnections() {
        return accepted.get();
    }

    /** @return how many client connections are open right now */
    public int openConnections() {
        return links.size();
    }

    /**
     * Delays every forwarded chunk by the given time, in each direction; {@link Duration#ZERO} ends it.
     *
     * @param delay the delay per chunk
     * @return this proxy
     */
    public FaultProxy latency(Duration delay) {
        latencyNanos = Math.max(0, delay.toNanos());
        return this;
    }

    /** Stops forwarding bytes in both directions, keeping every socket open, until {@link #resume()}. */
    public void stall() {
        synchronized (stallLock) {
            stalled = true;
        }
    }

    /** Forwards again everything held back since {@link #stall()}, in order. */
    public void resume() {
        synchronized (stallLock) {
            stalled = false;
            stallLock.notifyAll();
        }
    }

    /** Resets every current connection (RST to both client and Redis); new connections still work. */
    public void dropConnections() {
        for (Link link : links) {
            link.reset();
        }
    }

    /**
     * Stops listening (new connections are refused) and resets every current connection, until
     * {@link #restore()}.
     */
    public synchronized void cut() {
        cut = true;
        abort(server);
        dropConnections();
    }

    /**
     * Ends {@link #cut()} and {@link #blackhole()}: listens again on the same port, and resets the
     * connections that lived through the blackhole (their byte streams lost requests, so a client
     * must not keep them).
     *
     * @throws IllegalStateException if the port cannot be bound again
     */
    public synchronized void restore() {
        if (blackholed) {
            blackholed = false;
            links.stream().filter(l -> l.sawBlackhole).forEach(Link::reset);
        }
        if (repliesDropped) {
            repliesDropped = false;
            links.stream().filter(l -> l.lostReplies).forEach(Link::reset);
        }
        if (cut && !closed) {
            try {
                server = bind(port);
            } catch (IOException e) {
                throw new IllegalStateException("Could not listen on " + port + " again", e);
            }
            cut = false;
            startAcceptor(server);
        }
    }

    /**
     * Accepts connections but never forwards nor answers anything, also on connections already open,
     * until {@link #restore()}.
     */
    public synchronized void blackhole() {
        blackholed = true;
        links.forEach(l -> l.sawBlackhole = true);
    }

    /**
     * Forwards what clients send (Redis runs the commands) but discards every reply, until
     * {@link #restore()}, which resets the connections that lost replies (their replies would no
     * longer match their requests).
     */
    public synchronized void dropReplies() {
        repliesDropped = true;
    }

    /** Ends every fault: no latency, resumed, restored. */
    public void heal() {
        latency(Duration.ZERO);
        resume();
        restore();
    }

    /** Stops listening and resets every connection. Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        abort(server);
        dropConnections();
        resume();
    }

    /** @return ports and connection counts, for test output */
    @Override
    public String toString() {
        return "FaultProxy[" + port + " -> " + targetPort + ", accepted=" + accepted + ", open=" + links.size() + "]";
    }

    private static ServerSocket bind(int port) throws IOException {
        ServerSocket socket = new ServerSocket();
        // Lets restore() bind again while connections from before the cut linger in TIME_WAIT.
        socket.setReuseAddress(true);
        try {
            socket.bind(new InetSocketAddress(InetAddress.getByName(HOST), port), 50);
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    private void startAcceptor(ServerSocket listening) {
        spawn(() -> {
            while (!listening.isClosed()) {
                try {
                    Link link = new Link(listening.accept());
                    accepted.incrementAndGet();
                    links.add(link);
                    // Checked after add() so that a link accepted while blackhole() runs is not missed.
                    link.sawBlackhole |= blackholed;
                    if (cut || closed) {
                        // Accepted just as cut() or close() ran.
                        link.reset();
                    } else {
                        spawn(link::run, "fault-proxy-" + port + "-in");
                    }
                } catch (IOException e) {
                    // The listening socket was closed by cut() or close().
                }
            }
        }, "fault-proxy-" + port + "-accept");
    }

    /** One client connection, its upstream connection and the two pumps between them. */
    private final class Link {
        private final Socket client;
        private volatile Socket upstream;
        private volatile boolean closed;
        volatile boolean sawBlackhole = blackholed;
        volatile boolean lostReplies;

        Link(Socket client) {
            this.client = client;
        }

        void run() {
            if (!sawBlackhole) {
                try {
                    Socket up = new Socket();
                    up.setTcpNoDelay(true);
                    up.connect(new InetSocketAddress(HOST, targetPort), CONNECT_TIMEOUT_MS);
                    client.setTcpNoDelay(true);
                    upstream = up;
                } catch (IOException e) {
                    reset();
                }
                if (closed) {
                    reset();
                    return;
                }
                spawn(() -> pump(upstream, client, true), "fault-proxy-" + port + "-out");
            }
            // Blackholed from the start: never connect upstream, just swallow what the client sends.
            pump(client, upstream, false);
        }

        private void pump(Socket from, Socket to, boolean replies) {
            byte[] buffer = new byte[16 * 1024];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to == null ? null : to.getOutputStream();
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    synchronized (stallLock) {
                        while (stalled && !closed) {
                            // Timed so a reset link's pump notices and exits even while stalled.
                            stallLock.wait(100);
                        }
                    }
                    if (sawBlackhole || out == null) {
                        continue;
                    }
                    if (replies && repliesDropped) {
                        lostReplies = true;
                        continue;
                    }
                    long delay = latencyNanos;
                    if (delay > 0) {
                        TimeUnit.NANOSECONDS.sleep(delay);
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // A reset or a peer going away ends the link; nothing to report.
            }
            reset();
        }

        void reset() {
            closed = true;
            links.remove(this);
            abort(client);
            abort(upstream);
        }
    }

    private static void abort(AutoCloseable closeable) {
        try {
            if (closeable instanceof Socket) {
                // Linger 0 makes close() send RST, as a crashed peer or a dropping middlebox would.
                ((Socket) closeable).setSoLinger(true, 0);
            }
            if (closeable != null) {
                closeable.close();
            }
        } catch (Exception e) {
            // Already closed: nothing left to abort.
        }
    }

    private static void spawn(Runnable task, String name) {
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        thread.start();
    }
}
