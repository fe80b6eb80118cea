package io.llmlimiter.scripts;

/**
 * The format of a target's request log members, for tools and tests that read or fill the log
 * directly ({@code lib.lua} is the reference): {@code id|t|i|o|Ct|Ci|Co}, the admission charge
 * (tokens, input, output) and the cumulative admission charges of the log up to and including
 * the member, followed by {@code |vt|vi|vo|q} once the request completed with a changed value (its
 * current value and correction sequence), or by {@code |=} once it completed unchanged. Scores are admission times in microseconds, strictly
 * increasing. Stateless and thread-safe.
 */
public final class LogMembers {

    private LogMembers() {
    }

    /**
     * A member as acquire writes it.
     *
     * @param id the request id (no {@code |})
     * @param tokens admission charge in tokens
     * @param input admission charge in input tokens
     * @param output admission charge in output tokens
     * @param cumTokens cumulative tokens of the log up to and including this member
     * @param cumInput cumulative input tokens up to and including this member
     * @param cumOutput cumulative output tokens up to and including this member
     * @return the member
     */
    public static String admitted(String id, long tokens, long input, long output, long cumTokens, long cumInput,
                                  long cumOutput) {
        return id + '|' + tokens + '|' + input + '|' + output + '|' + cumTokens + '|' + cumInput + '|' + cumOutput;
    }

    /**
     * The current value of a member: its corrected value once completed, else its admission charge.
     *
     * @param member a log member
     * @return {tokens, input, output}
     */
    public static long[] current(String member) {
        String[] p = member.split("\\|");
        int at = p.length >= 11 ? 7 : 1;
        return new long[] {Long.parseLong(p[at]), Long.parseLong(p[at + 1]), Long.parseLong(p[at + 2])};
    }

    /**
     * @param member a log member
     * @return the request id
     */
    public static String id(String member) {
        return member.substring(0, member.indexOf('|'));
    }
}
