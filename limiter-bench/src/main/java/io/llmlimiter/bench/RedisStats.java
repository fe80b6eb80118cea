package io.llmlimiter.bench;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One reading of Redis's own counters, parsed from {@code INFO cpu}, {@code INFO stats} and
 * {@code INFO commandstats}, and the difference of two readings. Immutable.
 *
 * <p>Redis CPU is {@code used_cpu_sys + used_cpu_user}: the whole server process, background
 * threads included. {@code total_commands_processed} and the command stats count the commands
 * a script runs through {@code redis.call} as well (checked on every run, see
 * {@link RedisProbe#scriptCallsCounted()}), so neither is a count of client round trips.
 *
 * @param sysMicros used_cpu_sys (kernel: mostly network system calls), in microseconds
 * @param userMicros used_cpu_user (commands, scripts, event loop), in microseconds
 * @param totalCommands total_commands_processed
 * @param commands per command name: calls and microseconds spent
 */
public record RedisStats(long sysMicros, long userMicros, long totalCommands, Map<String, Command> commands) {

    /**
     * Calls and time of one command, from one {@code cmdstat_*} line.
     *
     * @param name the command, e.g. {@code evalsha} or {@code client|list}
     * @param calls how many times it ran
     * @param micros the time it took in total
     */
    public record Command(String name, long calls, long micros) {
    }

    /**
     * @param cpu the text of {@code INFO cpu}
     * @param stats the text of {@code INFO stats}
     * @param commandstats the text of {@code INFO commandstats}
     * @return the reading
     */
    public static RedisStats parse(String cpu, String stats, String commandstats) {
        Map<String, String> c = fields(cpu);
        long sys = Math.round(Double.parseDouble(c.getOrDefault("used_cpu_sys", "0")) * 1_000_000);
        long user = Math.round(Double.parseDouble(c.getOrDefault("used_cpu_user", "0")) * 1_000_000);
        long total = Long.parseLong(fields(stats).getOrDefault("total_commands_processed", "0"));
        Map<String, Command> commands = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : fields(commandstats).entrySet()) {
            if (!e.getKey().startsWith("cmdstat_")) {
                continue;
            }
            Map<String, String> v = new LinkedHashMap<>();
            for (String kv : e.getValue().split(",")) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    v.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
            String name = e.getKey().substring("cmdstat_".length());
            commands.put(name, new Command(name, Long.parseLong(v.getOrDefault("calls", "0")),
                    Long.parseLong(v.getOrDefault("usec", "0"))));
        }
        return new RedisStats(sys, user, total, Map.copyOf(commands));
    }

    /** @return used_cpu_sys + used_cpu_user, in microseconds */
    public long cpuMicros() {
        return sysMicros + userMicros;
    }

    /**
     * @param earlier a reading taken before this one
     * @return what happened in between
     */
    public RedisStats minus(RedisStats earlier) {
        Map<String, Command> diff = new LinkedHashMap<>();
        for (Command now : commands.values()) {
            Command before = earlier.commands.getOrDefault(now.name(), new Command(now.name(), 0, 0));
            if (now.calls() > before.calls()) {
                diff.put(now.name(), new Command(now.name(), now.calls() - before.calls(),
                        now.micros() - before.micros()));
            }
        }
        return new RedisStats(sysMicros - earlier.sysMicros, userMicros - earlier.userMicros,
                totalCommands - earlier.totalCommands, Map.copyOf(diff));
    }

    /**
     * @param limit how many to return
     * @return the commands that took the most time, most first
     */
    public List<Command> busiest(int limit) {
        return commands.values().stream()
                .sorted(Comparator.comparingLong(Command::micros).reversed().thenComparing(Command::name))
                .limit(limit).toList();
    }

    /** Parses {@code key:value} lines, skipping section headers and blank lines. */
    static Map<String, String> fields(String info) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : info.split("\r?\n")) {
            int colon = line.indexOf(':');
            if (line.isBlank() || line.startsWith("#") || colon < 0) {
                continue;
            }
            out.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
        }
        return out;
    }
}
