package io.llmlimiter.bench;

/**
 * Counts the commands in a client-to-Redis byte stream (RESP), however the stream is cut into
 * reads: each top-level array ({@code *N} followed by N bulk strings) is one command, and so is
 * each inline command line. Bulk payloads are skipped by length, so a payload that happens to
 * contain {@code *} is never miscounted. Not thread-safe: one counter per connection direction.
 */
public final class RespCommandCounter {

    private enum State { START, ARRAY_LENGTH, ELEMENT, BULK_LENGTH, BULK_BODY, INLINE }

    private State state = State.START;
    private long number;
    private long elementsLeft;
    private long bodyLeft;
    private long commands;

    /** @return commands seen so far */
    public long commands() {
        return commands;
    }

    /**
     * @param buf bytes read from the client
     * @param off where they start
     * @param len how many
     */
    public void feed(byte[] buf, int off, int len) {
        int i = off;
        int end = off + len;
        while (i < end) {
            if (state == State.BULK_BODY) {
                int skip = (int) Math.min(bodyLeft, end - i);
                i += skip;
                bodyLeft -= skip;
                if (bodyLeft == 0) {
                    elementDone();
                }
                continue;
            }
            step(buf[i++]);
        }
    }

    private void step(byte b) {
        switch (state) {
            case START -> {
                if (b == '*') {
                    state = State.ARRAY_LENGTH;
                    number = 0;
                } else if (b != '\r' && b != '\n') {
                    commands++;
                    state = State.INLINE;
                }
            }
            case ARRAY_LENGTH -> {
                if (b == '\n') {
                    elementsLeft = number;
                    if (number > 0) {
                        commands++;
                        state = State.ELEMENT;
                    } else {
                        state = State.START;
                    }
                } else if (b >= '0' && b <= '9') {
                    number = number * 10 + (b - '0');
                }
            }
            case ELEMENT -> {
                // Clients send arrays of bulk strings only; anything else resynchronises at the next command.
                state = b == '$' ? State.BULK_LENGTH : State.START;
                number = 0;
            }
            case BULK_LENGTH -> {
                if (b == '\n') {
                    bodyLeft = number + 2;
                    state = State.BULK_BODY;
                } else if (b >= '0' && b <= '9') {
                    number = number * 10 + (b - '0');
                }
            }
            case INLINE -> {
                if (b == '\n') {
                    state = State.START;
                }
            }
            default -> throw new IllegalStateException("unexpected state " + state);
        }
    }

    private void elementDone() {
        elementsLeft--;
        state = elementsLeft > 0 ? State.ELEMENT : State.START;
    }
}
