package io.llmlimiter.server;

import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.LimiterAdmin;
import io.llmlimiter.client.Target;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the config file holds when the server starts. An existing file is read as is (the seed's
 * file too). On first start (no file) the file is made from what Redis already holds plus the seed
 * project's defaults (deepseek/deepseek-chat 100 RPM, anthropic/claude-3-5-sonnet 50 RPM,
 * openai/gpt-4 500 RPM, and 10 RPM for unknown targets), which are written to Redis where absent:
 * a fleet already configured in Redis is never overwritten. Thread-safe (stateless).
 */
final class ConfigSeeder {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigSeeder.class);

    private ConfigSeeder() {
    }

    /**
     * @param admin the limiter's admin
     * @param file the config file
     * @param audit the audit log, for what is seeded
     * @return the configs the file holds, always with a default config
     * @throws IllegalArgumentException when the file is not valid, naming the entry and field
     * @throws IOException when the file cannot be written
     */
    static ConfigSet load(LimiterAdmin admin, ConfigFile file, AuditLog audit) throws IOException {
        Optional<ConfigSet> existing = file.read();
        if (existing.isPresent() && existing.get().defaultConfig() != null) {
            return existing.get();
        }
        ConfigSet seed = ConfigFile.seed();
        ConfigSet set = existing.orElseGet(() -> adoptAndSeed(admin, seed, audit));
        Optional<LimitConfig> live = admin.defaultConfig();
        set = set.withDefault(live.orElse(seed.defaultConfig()));
        if (live.isEmpty()) {
            admin.putDefaultConfig(set.defaultConfig());
        }
        audit.append("seed", ConfigSet.DEFAULT_NAME, "startup", null, set.defaultConfig());
        file.write(set);
        LOG.info("config file {} {} with {} targets and the default config", file.path(),
                existing.isPresent() ? "given a default config" : "created", set.targets().size());
        return set;
    }

    private static ConfigSet adoptAndSeed(LimiterAdmin admin, ConfigSet seed, AuditLog audit) {
        Map<Target, LimitConfig> m = new HashMap<>();
        for (Target t : admin.targets()) {
            admin.config(t).ifPresent(c -> m.put(t, c));
        }
        for (LimitConfig c : seed.targets().values()) {
            if (!m.containsKey(c.target()) && admin.putConfigIfAbsent(c)) {
                m.put(c.target(), c);
                audit.append("seed", c.target().toString(), "startup", null, c);
            }
        }
        return new ConfigSet(null, m);
    }
}
