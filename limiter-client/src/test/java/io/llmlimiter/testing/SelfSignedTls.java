package io.llmlimiter.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway certificate authority and a server certificate signed by it, made with the
 * {@code openssl} binary in a fresh temporary directory, for TLS tests against a real Redis. The
 * server certificate names {@code localhost} (CN and SAN) and IP {@code 127.0.0.1} (SAN), so clients
 * that verify the peer's host name accept it on loopback. Keys are EC P-256; both certificates are
 * valid for two days.
 *
 * <p>Redis needs a plain port for {@link RedisProcess}'s readiness check, so TLS is served on a
 * second port: {@link #startRedis(String...)} reserves one and returns a {@link TlsRedis}. This class
 * is thread-safe once generated.
 */
public final class SelfSignedTls implements AutoCloseable {

    private static final long OPENSSL_TIMEOUT_SECONDS = 60;
    private static final String P256 = "ec_paramgen_curve:prime256v1";

    private final Path dir;
    private final String openssl;

    private SelfSignedTls(Path dir, String openssl) {
        this.dir = dir;
        this.openssl = openssl;
    }

    /** A Redis server that also listens for TLS, and its {@code rediss://} address. */
    public static final class TlsRedis implements AutoCloseable {
        private final RedisProcess process;
        private final int tlsPort;

        private TlsRedis(RedisProcess process, int tlsPort) {
            this.process = process;
            this.tlsPort = tlsPort;
        }

        /**
         * The server process; its {@link RedisProcess#port()} is the plain-text port.
         *
         * @return the process
         */
        public RedisProcess process() {
            return process;
        }

        /**
         * The TLS port.
         *
         * @return the port
         */
        public int tlsPort() {
            return tlsPort;
        }

        /**
         * The TLS address, {@code rediss://127.0.0.1:tlsPort}.
         *
         * @return the URI
         */
        public String tlsUri() {
            return SelfSignedTls.tlsUri(tlsPort);
        }

        /** Stops the server and deletes its files. */
        @Override
        public void close() {
            process.close();
        }
    }

    /**
     * Generates the CA and the server certificate.
     *
     * @return the generated material
     * @throws IllegalStateException if {@code openssl} is missing or fails; the message says why
     */
    public static SelfSignedTls generate() {
        return generate("openssl");
    }

    /** As {@link #generate()} with another openssl binary; package-private so the failure is testable. */
    static SelfSignedTls generate(String opensslBinary) {
        Path dir;
        try {
            dir = Files.createTempDirectory("llmlimiter-tls-");
            Files.writeString(dir.resolve("server.ext"), String.join("\n",
                    "basicConstraints=CA:FALSE",
                    "keyUsage=critical,digitalSignature",
                    "extendedKeyUsage=serverAuth",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1", ""), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not prepare a directory for test certificates", e);
        }
        SelfSignedTls tls = new SelfSignedTls(dir, opensslBinary);
        try {
            // EC P-256 keys: generated in milliseconds, where RSA takes up to seconds on a busy CI box.
            tls.openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", P256, "-sha256",
                    "-days", "2", "-subj", "/CN=llm-limiter test CA", "-keyout", "ca.key", "-out", "ca.crt",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign");
            tls.openssl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", P256, "-sha256",
                    "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
            tls.openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                    "-CAcreateserial", "-sha256", "-days", "2", "-extfile", "server.ext", "-out", "server.crt");
            return tls;
        } catch (RuntimeException e) {
            tls.close();
            throw e;
        }
    }

    /**
     * The CA certificate (PEM), to trust in clients.
     *
     * @return the file
     */
    public Path caCert() {
        return dir.resolve("ca.crt");
    }

    /**
     * The server certificate (PEM), signed by {@link #caCert()}.
     *
     * @return the file
     */
    public Path serverCert() {
        return dir.resolve("server.crt");
    }

    /**
     * The unencrypted server private key (PEM).
     *
     * @return the file
     */
    public Path serverKey() {
        return dir.resolve("server.key");
    }

    /**
     * The {@code redis-server} arguments that serve TLS on {@code tlsPort} with this certificate and
     * without client certificates: {@code --tls-port P --tls-cert-file .. --tls-key-file ..
     * --tls-ca-cert-file .. --tls-auth-clients no}. The plain port stays on, because
     * {@link RedisProcess} manages {@code --port} and checks readiness through it.
     *
     * @param tlsPort the TLS port, for example from {@link RedisProcess#reservePort()}
     * @return the arguments, one token per element
     */
    public String[] redisArgs(int tlsPort) {
        return new String[] {"--tls-port", String.valueOf(tlsPort),
            "--tls-cert-file", serverCert().toString(),
            "--tls-key-file", serverKey().toString(),
            "--tls-ca-cert-file", caCert().toString(),
            "--tls-auth-clients", "no"};
    }

    /**
     * Starts a Redis server that serves TLS with this certificate on a reserved port, in addition to
     * its plain port.
     *
     * @param extraArgs further {@code redis-server} arguments, as for {@link RedisProcess#start(String...)}
     * @return the running server
     * @throws IllegalStateException if the backend is Docker or the server does not start (for
     *     example a {@code redis-server} built without TLS)
     */
    public TlsRedis startRedis(String... extraArgs) {
        RedisProcess.Backend backend = RedisProcess.chooseBackend();
        if (backend == RedisProcess.Backend.DOCKER) {
            // The container would see neither the certificate files nor publish the TLS port.
            throw new IllegalStateException("TLS tests need a local redis-server built with TLS, not " + backend);
        }
        int tlsPort = RedisProcess.reservePort();
        List<String> args = new ArrayList<>(List.of(redisArgs(tlsPort)));
        args.addAll(List.of(extraArgs));
        return new TlsRedis(RedisProcess.start(backend, args.toArray(String[]::new)), tlsPort);
    }

    /**
     * The TLS address of a local server, {@code rediss://127.0.0.1:tlsPort}.
     *
     * @param tlsPort the TLS port
     * @return the URI
     */
    public static String tlsUri(int tlsPort) {
        return "rediss://127.0.0.1:" + tlsPort;
    }

    /** Deletes the generated keys and certificates. Idempotent. */
    @Override
    public void close() {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            // A leftover temp directory is harmless.
        }
    }

    private void openssl(String... args) {
        List<String> command = new ArrayList<>();
        command.add(openssl);
        command.addAll(List.of(args));
        Path log = dir.resolve("openssl.log");
        Process process;
        try {
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new IllegalStateException("The openssl binary is needed to generate test TLS certificates but "
                    + "could not be run (" + e.getMessage() + "); install OpenSSL so that '" + openssl
                    + "' is on the PATH", e);
        }
        try {
            if (!process.waitFor(OPENSSL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("openssl did not finish within " + OPENSSL_TIMEOUT_SECONDS
                        + " s: " + String.join(" ", command));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IllegalStateException("Interrupted while running openssl", e);
        }
        if (process.exitValue() != 0) {
            String output;
            try {
                output = Files.readString(log, StandardCharsets.UTF_8);
            } catch (IOException e) {
                output = "(no output: " + e.getMessage() + ")";
            }
            throw new IllegalStateException("openssl exited with " + process.exitValue() + ": "
                    + String.join(" ", command) + "\n" + output);
        }
    }
}
