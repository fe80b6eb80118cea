package io.llmlimiter.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal blocking RESP2 client for test infrastructure: one short-lived plain TCP connection per
 * command, no pooling, no TLS. It exists so cluster and sentinel setups can be orchestrated (and
 * diagnosed) without the client under test and without Lettuce's event loops.
 *
 * <p>Replies are mapped to Java values: simple and bulk strings to {@link String}, integers to
 * {@link Long}, arrays to {@link List}, nil to {@code null}; error replies throw {@link ErrorReply}.
 * This class is thread-safe (it has no state).
 */
public final class RedisWire {

    private static final String HOST = "127.0.0.1";
    private static final int CONNECT_TIMEOUT_MS = 1000;
    private static final int READ_TIMEOUT_MS = 5000;

    private RedisWire() {
    }

    /** An error reply ({@code -ERR ...}) from the server. */
    public static final class ErrorReply extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /**
         * Creates the exception.
         *
         * @param message the error line without the leading {@code -}
         */
        public ErrorReply(String message) {
            super(message);
        }
    }

    /**
     * Sends one command to {@code 127.0.0.1:port} and returns its decoded reply.
     *
     * @param port the server port
     * @param command the command and its arguments, for example {@code "CLUSTER", "INFO"}
     * @return the decoded reply (String, Long, List or null)
     * @throws UncheckedIOException if the server cannot be reached or closes the connection
     * @throws ErrorReply if the server answers with an error
     */
    public static Object call(int port, String... command) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(HOST, port), CONNECT_TIMEOUT_MS);
            socket.setSoTimeout(READ_TIMEOUT_MS);
            OutputStream out = socket.getOutputStream();
            out.write(encode(command));
            out.flush();
            return read(new BufferedInputStream(socket.getInputStream()));
        } catch (IOException e) {
            throw new UncheckedIOException("Redis at " + HOST + ":" + port + " did not answer "
                    + String.join(" ", command), e);
        }
    }

    /**
     * Sends one command and returns its reply as a string ({@code null} for nil, the decimal text for
     * integers, the {@code List.toString()} for arrays).
     *
     * @param port the server port
     * @param command the command and its arguments
     * @return the reply text
     * @throws UncheckedIOException if the server cannot be reached
     * @throws ErrorReply if the server answers with an error
     */
    public static String text(int port, String... command) {
        Object reply = call(port, command);
        return reply == null ? null : reply.toString();
    }

    /**
     * Reads one field of an {@code INFO}-style reply ({@code name:value} lines), for example
     * {@code info(port, "replication", "role")}.
     *
     * @param port the server port
     * @param section the INFO section
     * @param field the field name
     * @return the value, or {@code null} if the field is absent
     */
    public static String info(int port, String section, String field) {
        return field(text(port, "INFO", section), field);
    }

    /**
     * Extracts a {@code name:value} field from INFO or CLUSTER INFO text.
     *
     * @param infoText the text
     * @param field the field name
     * @return the value, or {@code null} if absent
     */
    public static String field(String infoText, String field) {
        for (String line : infoText.split("\r?\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).trim();
            }
        }
        return null;
    }

    private static byte[] encode(String... command) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        buffer.writeBytes(("*" + command.length + "\r\n").getBytes(StandardCharsets.UTF_8));
        for (String part : command) {
            byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
            buffer.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.UTF_8));
            buffer.writeBytes(bytes);
            buffer.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        return buffer.toByteArray();
    }

    private static Object read(InputStream in) throws IOException {
        int type = in.read();
        if (type < 0) {
            throw new EOFException("Connection closed before a reply");
        }
        String line = readLine(in);
        switch (type) {
            case '+':
                return line;
            case '-':
                throw new ErrorReply(line);
            case ':':
                return Long.parseLong(line);
            case '$': {
                int length = Integer.parseInt(line);
                if (length < 0) {
                    return null;
                }
                byte[] bytes = in.readNBytes(length + 2);
                if (bytes.length < length + 2) {
                    throw new EOFException("Connection closed inside a bulk string");
                }
                return new String(bytes, 0, length, StandardCharsets.UTF_8);
            }
            case '*': {
                int count = Integer.parseInt(line);
                if (count < 0) {
                    return null;
                }
                List<Object> items = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    items.add(read(in));
                }
                return items;
            }
            default:
                throw new IOException("Unexpected RESP type '" + (char) type + "' followed by " + line);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int previous = -1;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("Connection closed inside a reply line");
            }
            if (previous == '\r' && b == '\n') {
                byte[] bytes = line.toByteArray();
                return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
            }
            line.write(b);
            previous = b;
        }
    }
}
