package io.llmlimiter.scripts;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The format of a target's request log, for tools and tests that read or fill it directly
 * ({@code lib.lua} is the reference). Entries are numbered in admission order and packed, 16 per
 * chunk: the log hash maps chunk index {@code j} to the chunk holding entries {@code 16j..16j+15},
 * except the newest chunk, which is the state hash's field {@code lp}; the state's {@code lh} is
 * the oldest chunk kept and {@code ln} the next entry number. A chunk is a header (cumulative
 * admission tokens, input, output before its first entry, 6-byte little-endian each) followed by
 * 26-byte entries: admission time in microseconds (7 bytes), cumulative tokens, input, output up
 * to and including the entry (6 bytes each) and a flag (0 open, 1 completed unchanged, 2 completed
 * with the value in the log field {@code v<seq>}, {@code "tokens|input|output|q"}). Stateless and
 * thread-safe.
 */
public final class RequestLog {

    /** Entries per chunk. */
    public static final int CHUNK = 16;
    private static final int HEAD = 18;
    private static final int ENTRY = 26;

    private RequestLog() {
    }

    /**
     * One request in the log.
     *
     * @param seq its number in admission order
     * @param admitUs its admission time (microseconds)
     * @param charge its admission charge: tokens, input, output
     * @param value its current value (the charge, or the corrected value once completed)
     * @param completed whether its call completed
     */
    public record Entry(long seq, long admitUs, long[] charge, long[] value, boolean completed) {
    }

    /**
     * Reads every entry the log keeps.
     *
     * @param log the log hash (field to raw value)
     * @param state the state hash (field to raw value); only {@code lh}, {@code ln}, {@code lp} are read
     * @return the entries, oldest first
     */
    public static List<Entry> read(Map<String, byte[]> log, Map<String, byte[]> state) {
        List<Entry> out = new ArrayList<>();
        long n = number(state.get("ln"));
        if (n == 0) {
            return out;
        }
        long tail = (n - 1) / CHUNK;
        for (long j = number(state.get("lh")); j <= tail; j++) {
            byte[] c = j == tail ? state.get("lp") : log.get(Long.toString(j));
            if (c == null) {
                continue;
            }
            long[] prev = {get(c, 0, 6), get(c, 6, 6), get(c, 12, 6)};
            for (int p = 0; HEAD + (p + 1) * ENTRY <= c.length; p++) {
                int at = HEAD + p * ENTRY;
                long[] cum = {get(c, at + 7, 6), get(c, at + 13, 6), get(c, at + 19, 6)};
                long[] charge = {cum[0] - prev[0], cum[1] - prev[1], cum[2] - prev[2]};
                int flag = c[at + 25];
                long seq = j * CHUNK + p;
                long[] value = charge;
                if (flag == 2) {
                    String[] v = new String(log.get("v" + seq), StandardCharsets.US_ASCII).split("\\|");
                    value = new long[] {Long.parseLong(v[0]), Long.parseLong(v[1]), Long.parseLong(v[2])};
                }
                out.add(new Entry(seq, get(c, at, 7), charge, value, flag > 0));
                prev = cum;
            }
        }
        return out;
    }

    /** Builds a log as acquire would have written it, for tools and tests that fill one directly. */
    public static final class Builder {

        private final List<long[]> entries = new ArrayList<>();
        private final long[] cum = new long[3];

        /**
         * Appends an open entry.
         *
         * @param admitUs admission time (microseconds), after the previous entry's
         * @param tokens admission charge in tokens
         * @param input admission charge in input tokens
         * @param output admission charge in output tokens
         * @return this builder
         */
        public Builder add(long admitUs, long tokens, long input, long output) {
            cum[0] += tokens;
            cum[1] += input;
            cum[2] += output;
            entries.add(new long[] {admitUs, cum[0], cum[1], cum[2]});
            return this;
        }

        /** @return the log hash's fields: every chunk but the newest */
        public Map<String, byte[]> log() {
            Map<String, byte[]> out = new HashMap<>();
            int chunks = (entries.size() + CHUNK - 1) / CHUNK;
            for (int j = 0; j < chunks - 1; j++) {
                out.put(Integer.toString(j), chunk(j));
            }
            return out;
        }

        /** @return the state hash's log fields: {@code lh}, {@code ln}, {@code lp} */
        public Map<String, byte[]> state() {
            Map<String, byte[]> out = new HashMap<>();
            out.put("lh", "0".getBytes(StandardCharsets.US_ASCII));
            out.put("ln", Integer.toString(entries.size()).getBytes(StandardCharsets.US_ASCII));
            if (!entries.isEmpty()) {
                out.put("lp", chunk((entries.size() - 1) / CHUNK));
            }
            return out;
        }

        private byte[] chunk(int j) {
            int from = j * CHUNK;
            int to = Math.min(entries.size(), from + CHUNK);
            byte[] c = new byte[HEAD + (to - from) * ENTRY];
            long[] prev = from == 0 ? new long[4] : entries.get(from - 1);
            for (int r = 0; r < 3; r++) {
                put(c, r * 6, 6, prev[r + 1]);
            }
            for (int k = from; k < to; k++) {
                long[] e = entries.get(k);
                int at = HEAD + (k - from) * ENTRY;
                put(c, at, 7, e[0]);
                for (int r = 0; r < 3; r++) {
                    put(c, at + 7 + r * 6, 6, e[r + 1]);
                }
            }
            return c;
        }
    }

    private static long number(byte[] raw) {
        return raw == null ? 0 : Long.parseLong(new String(raw, StandardCharsets.US_ASCII));
    }

    /** A little-endian signed integer of {@code size} bytes. */
    private static long get(byte[] b, int at, int size) {
        long v = 0;
        for (int k = size - 1; k >= 0; k--) {
            v = (v << 8) | (b[at + k] & 0xff);
        }
        int shift = 64 - 8 * size;
        return (v << shift) >> shift;
    }

    private static void put(byte[] b, int at, int size, long v) {
        for (int k = 0; k < size; k++) {
            b[at + k] = (byte) (v >>> (8 * k));
        }
    }
}
