package io.llmlimiter.client.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmlimiter.client.Accounting;
import io.llmlimiter.client.Budget;
import io.llmlimiter.client.Durations;
import io.llmlimiter.client.FairShare;
import io.llmlimiter.client.Priority;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.client.TenantShare;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.ModelPrice;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Resource;
import io.llmlimiter.client.RetrySettings;
import io.llmlimiter.client.Target;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes {@link LimitConfig} as JSON, strictly: unknown or mistyped fields are refused
 * with a message naming them. The seed's shape ({@code requests_per_minute}) is accepted too.
 * This class is thread-safe.
 */
public final class ConfigJson {

    /** Shared mapper; Jackson mappers are thread-safe once configured. */
    public static final ObjectMapper MAPPER = new ObjectMapper();

    // is_tested, last_test_date and test_notes are the admin server's probe record, kept in the same
    // stored document: accepted and ignored here, so documents written by a server always parse.
    private static final Set<String> FIELDS = Set.of("provider", "model", "limits", "requests_per_minute",
            "max_concurrent", "lease_ttl", "delivery_margin_ms", "accounting", "max_retries", "base_retry_delay", "max_retry_delay",
            "retry_deadline", "is_tested", "last_test_date", "test_notes", "source", "budgets", "prices",
            "fair_share");
    private static final Set<String> PRICE_FIELDS = Set.of("currency", "input_mtok", "output_mtok", "cache_read_mtok",
            "cache_write_mtok");
    private static final Set<String> FAIR_FIELDS = Set.of("tenants", "priorities", "max_tenants");
    private static final Set<String> SHARE_FIELDS = Set.of("weight", "reserve", "cap");
    private static final Set<String> PRIORITY_FIELDS = Set.of("order", "aging_ms");

    private ConfigJson() {
    }

    /**
     * @param json config JSON
     * @param target the target it is for when known from elsewhere (a URL path), else null
     * @return the config
     * @throws IllegalArgumentException naming the bad field
     */
    public static LimitConfig parse(String json, Target target) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("body is not valid JSON: " + e.getOriginalMessage());
        }
        return parse(root, target);
    }

    /**
     * @param root config JSON tree
     * @param target the target it is for when known from elsewhere, else null
     * @return the config
     */
    public static LimitConfig parse(JsonNode root, Target target) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("config must be a JSON object");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw new IllegalArgumentException("unknown field '" + f + "'; known fields are " + FIELDS);
            }
        }
        Target t = target(root, target);
        LimitConfig.Builder b = LimitConfig.builder(t);
        if (root.has("limits")) {
            JsonNode limits = root.get("limits");
            if (limits.isTextual()) {
                // The compact text may hold dollar budgets too (usd=50/1d).
                prefix("limits", () -> b.limits(limits.asText()));
            } else if (limits.isArray()) {
                int i = 0;
                for (JsonNode l : limits) {
                    int index = i++;
                    b.limit(prefix("limits[" + index + "]", () -> limit(l)));
                }
            } else {
                throw new IllegalArgumentException("limits must be a list of {resource, amount, window} or a text like "
                        + "requests=500/60s");
            }
        }
        if (root.has("budgets") && !root.get("budgets").isNull()) {
            JsonNode budgets = root.get("budgets");
            List<Budget> list = new ArrayList<>();
            if (budgets.isTextual()) {
                prefix("budgets", () -> Budget.parseAll(budgets.asText())).forEach(list::add);
            } else if (budgets.isArray()) {
                int i = 0;
                for (JsonNode x : budgets) {
                    String field = "budgets[" + i++ + "]";
                    if (!x.isTextual()) {
                        throw new IllegalArgumentException(field + " must be a string like usd=50/1d or usd=1000/month");
                    }
                    list.add(prefix(field, () -> Budget.parse(x.asText())));
                }
            } else {
                throw new IllegalArgumentException("budgets must be a list like [\"usd=50/1d\", \"usd=1000/month\"]");
            }
            // Budgets given both in the limits text and here count once.
            List<Budget> have = new ArrayList<>();
            if (root.path("limits").isTextual()) {
                for (String part : root.get("limits").asText().split(",")) {
                    if (part.trim().startsWith("usd=")) {
                        have.add(Budget.parse(part));
                    }
                }
            }
            list.stream().filter(x -> !have.contains(x)).forEach(b::budget);
        }
        if (root.has("prices") && !root.get("prices").isNull()) {
            b.prices(prices(root.get("prices")));
        }
        if (root.has("requests_per_minute")) {
            long rpm = integer(root, "requests_per_minute");
            b.limit(prefix("requests_per_minute", () -> new Limit(Resource.REQUESTS, rpm, Duration.ofMinutes(1))));
        }
        if (root.has("max_concurrent")) {
            b.maxConcurrent((int) Math.min(Integer.MAX_VALUE, integer(root, "max_concurrent")));
        }
        if (root.has("lease_ttl")) {
            b.leaseTtl(Durations.parse("lease_ttl", text(root, "lease_ttl")));
        }
        if (root.has("delivery_margin_ms")) {
            b.deliveryMargin(Duration.ofMillis(integer(root, "delivery_margin_ms")));
        }
        if (root.has("accounting")) {
            b.accounting(prefix("accounting", () -> Accounting.fromLabel(text(root, "accounting"))));
        }
        RetrySettings d = RetrySettings.DEFAULTS;
        int retries = root.has("max_retries") ? (int) Math.min(Integer.MAX_VALUE, integer(root, "max_retries")) : d.maxRetries();
        Duration base = root.has("base_retry_delay") ? seconds(root, "base_retry_delay") : d.baseDelay();
        Duration max = root.has("max_retry_delay") ? seconds(root, "max_retry_delay") : d.maxDelay();
        if (!root.has("max_retry_delay") && max.compareTo(base) < 0) {
            max = base;
        }
        Duration deadline = root.has("retry_deadline") ? seconds(root, "retry_deadline") : d.deadline();
        b.retry(new RetrySettings(retries, base, max, deadline));
        String source = optionalText(root, "source");
        if (source != null && !source.equals("default") && !source.equals("configured")) {
            throw new IllegalArgumentException("source must be default or configured, got '" + source + "'");
        }
        b.autoCreated("default".equals(source));
        if (root.has("fair_share") && !root.get("fair_share").isNull()) {
            b.fairShare(prefix("fair_share", () -> fairShare(root.get("fair_share"))));
        }
        return b.build();
    }

    private static FairShare fairShare(JsonNode f) {
        if (!f.isObject()) {
            throw new IllegalArgumentException("must be an object {tenants, priorities, max_tenants}");
        }
        known(f, FAIR_FIELDS);
        FairShare.Builder b = FairShare.builder();
        JsonNode tenants = f.get("tenants");
        if (tenants != null) {
            if (!tenants.isObject()) {
                throw new IllegalArgumentException("tenants must be an object of tenant name to {weight, reserve, cap}");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = tenants.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String field = "tenants." + e.getKey();
                b.tenant(prefix(field, () -> Tenant.checkName(e.getKey())), prefix(field, () -> share(e.getValue())));
            }
        }
        JsonNode p = f.get("priorities");
        if (p != null) {
            if (!p.isObject()) {
                throw new IllegalArgumentException("priorities must be an object {order, aging_ms}");
            }
            known(p, PRIORITY_FIELDS);
            if (p.has("order")) {
                JsonNode o = p.get("order");
                if (!o.isArray()) {
                    throw new IllegalArgumentException("priorities.order must be a list such as [\"interactive\", \"batch\", \"background\"]");
                }
                List<Priority> order = new ArrayList<>();
                for (JsonNode x : o) {
                    order.add(prefix("priorities.order", () -> Priority.fromLabel(x.isTextual() ? x.asText() : String.valueOf(x))));
                }
                b.order(order);
            }
            if (p.has("aging_ms")) {
                b.aging(Duration.ofMillis(prefix("priorities", () -> integer(p, "aging_ms"))));
            }
        }
        if (f.has("max_tenants")) {
            b.maxTenants((int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, integer(f, "max_tenants"))));
        }
        return b.build();
    }

    private static TenantShare share(JsonNode s) {
        if (!s.isObject()) {
            throw new IllegalArgumentException("must be an object {weight, reserve, cap}");
        }
        known(s, SHARE_FIELDS);
        double weight = s.has("weight") ? number(s, "weight") : 1;
        double reserve = s.has("reserve") ? number(s, "reserve") : 0;
        double capShare = 1;
        List<Limit> caps = List.of();
        JsonNode cap = s.get("cap");
        if (cap != null && !cap.isNull()) {
            if (cap.isNumber()) {
                capShare = cap.asDouble();
            } else if (cap.isTextual()) {
                caps = prefix("cap", () -> Limit.parseAll(cap.asText()));
            } else {
                throw new IllegalArgumentException("cap must be a share such as 0.5 or limits such as \"tokens=20000/60s\", got " + cap);
            }
        }
        return new TenantShare(weight, reserve, capShare, caps);
    }

    private static void known(JsonNode n, Set<String> fields) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!fields.contains(f)) {
                throw new IllegalArgumentException("unknown field '" + f + "'; known fields are " + new java.util.TreeSet<>(fields));
            }
        }
    }

    private static double number(JsonNode n, String f) {
        JsonNode v = n.get(f);
        if (v == null || !v.isNumber()) {
            throw new IllegalArgumentException(f + " must be a number, got " + v);
        }
        return v.asDouble();
    }

    /**
     * The fair share as {@code set_config.lua} takes it (ARGV[9..], pairs of cfg field and value),
     * with reserves and share caps turned into absolute amounts of each limit.
     *
     * @param c a config
     * @return the pairs; empty when the target does not share fairly
     */
    public static List<String> fairShareArgs(LimitConfig c) {
        FairShare f = c.fairShare();
        List<String> out = new ArrayList<>();
        if (f == null) {
            return out;
        }
        out.add("fair");
        out.add(f.aging().toMillis() + "|" + f.maxTenants() + "|"
                + String.join(",", f.order().stream().map(Priority::label).toList()));
        List<String> reserved = new ArrayList<>();
        for (Map.Entry<String, TenantShare> e : f.tenants().entrySet()) {
            TenantShare s = e.getValue();
            if (s.reserve() > 0) {
                reserved.add(e.getKey());
            }
            StringBuilder reserves = new StringBuilder();
            StringBuilder caps = new StringBuilder();
            for (Limit l : c.limits()) {
                long r = (long) Math.floor(l.amount() * s.reserve());
                if (r > 0) {
                    spec(reserves, l.resource(), r, l.window());
                }
                if (s.capShare() < 1) {
                    spec(caps, l.resource(), Math.max(1, (long) Math.floor(l.amount() * s.capShare())), l.window());
                }
            }
            for (Limit l : s.capLimits()) {
                spec(caps, l.resource(), l.amount(), l.window());
            }
            out.add(Tenant.DEFAULT_NAME.equals(e.getKey()) ? "tw:*" : "tw:" + e.getKey());
            out.add(s.weight() + "|" + reserves + "|" + caps);
        }
        if (!reserved.isEmpty()) {
            out.add("rs");
            out.add(String.join(",", reserved));
        }
        return out;
    }

    private static void spec(StringBuilder b, Resource r, long amount, Duration window) {
        if (b.length() > 0) {
            b.append(',');
        }
        b.append(r.code()).append(':').append(amount).append(':').append(window.toMillis());
    }

    /**
     * @param c a config
     * @return its JSON text
     */
    public static String write(LimitConfig c) {
        return tree(c).toString();
    }

    /**
     * @param c a config
     * @return its JSON tree
     */
    public static ObjectNode tree(LimitConfig c) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("provider", c.target().provider());
        o.put("model", c.target().model());
        ArrayNode limits = o.putArray("limits");
        for (Limit l : c.limits()) {
            limits.addObject().put("resource", l.resource().label()).put("amount", l.amount())
                    .put("window", Durations.format(l.window()));
        }
        if (!c.budgets().isEmpty()) {
            ArrayNode budgets = o.putArray("budgets");
            c.budgets().forEach(x -> budgets.add(x.toString()));
        }
        if (c.prices() != null) {
            o.putObject("prices").put("currency", "USD").put("input_mtok", c.prices().inputMtok())
                    .put("output_mtok", c.prices().outputMtok()).put("cache_read_mtok", c.prices().cacheReadMtok())
                    .put("cache_write_mtok", c.prices().cacheWriteMtok());
        }
        o.put("max_concurrent", c.maxConcurrent());
        o.put("lease_ttl", Durations.format(c.leaseTtl()));
        o.put("delivery_margin_ms", c.deliveryMargin().toMillis());
        o.put("accounting", c.accounting().label());
        o.put("max_retries", c.retry().maxRetries());
        o.put("base_retry_delay", c.retry().baseDelay().toMillis() / 1000.0);
        o.put("max_retry_delay", c.retry().maxDelay().toMillis() / 1000.0);
        o.put("retry_deadline", c.retry().deadline().toMillis() / 1000.0);
        if (c.autoCreated()) {
            // Written by a client for a target nobody configured; the dashboard shows it.
            o.put("source", "default");
        }
        FairShare f = c.fairShare();
        if (f != null) {
            ObjectNode fo = o.putObject("fair_share");
            ObjectNode tenants = fo.putObject("tenants");
            f.tenants().forEach((name, s) -> {
                ObjectNode so = tenants.putObject(name).put("weight", s.weight());
                if (s.reserve() > 0) {
                    so.put("reserve", s.reserve());
                }
                if (!s.capLimits().isEmpty()) {
                    so.put("cap", Limit.formatAll(s.capLimits()));
                } else if (s.capShare() < 1) {
                    so.put("cap", s.capShare());
                }
            });
            ObjectNode p = fo.putObject("priorities");
            ArrayNode order = p.putArray("order");
            f.order().forEach(x -> order.add(x.label()));
            p.put("aging_ms", f.aging().toMillis());
            fo.put("max_tenants", f.maxTenants());
        }
        return o;
    }

    private static Target target(JsonNode root, Target given) {
        String provider = optionalText(root, "provider");
        String model = optionalText(root, "model");
        if (given == null) {
            if (provider == null) {
                throw new IllegalArgumentException("provider is required");
            }
            if (model == null) {
                throw new IllegalArgumentException("model is required");
            }
            return new Target(provider, model);
        }
        if (provider != null && !provider.equals(given.provider())) {
            throw new IllegalArgumentException("provider '" + provider + "' does not match the target " + given);
        }
        if (model != null && !model.equals(given.model())) {
            throw new IllegalArgumentException("model '" + model + "' does not match the target " + given);
        }
        return given;
    }

    private static Limit limit(JsonNode l) {
        if (!l.isObject()) {
            throw new IllegalArgumentException("must be an object {resource, amount, window}");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = l.fields(); it.hasNext(); ) {
            String f = it.next().getKey();
            if (!Set.of("resource", "amount", "window").contains(f)) {
                throw new IllegalArgumentException("unknown field '" + f + "'");
            }
        }
        for (String f : new String[] {"resource", "amount", "window"}) {
            if (!l.has(f)) {
                throw new IllegalArgumentException(f + " is required");
            }
        }
        return new Limit(Resource.fromLabel(text(l, "resource")), integer(l, "amount"),
                Durations.parse("window", text(l, "window")));
    }

    /** A per-target price override: dollars per million tokens, USD only. */
    private static ModelPrice prices(JsonNode p) {
        if (!p.isObject()) {
            throw new IllegalArgumentException("prices must be an object {currency, input_mtok, output_mtok, "
                    + "cache_read_mtok, cache_write_mtok}");
        }
        for (Iterator<String> it = p.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!PRICE_FIELDS.contains(f)) {
                throw new IllegalArgumentException("prices: unknown field '" + f + "'; known fields are " + PRICE_FIELDS);
            }
        }
        JsonNode currency = p.get("currency");
        if (currency != null && !(currency.isTextual() && currency.asText().equals("USD"))) {
            throw new IllegalArgumentException("prices.currency must be USD, got " + currency);
        }
        BigDecimal in = price(p, "input_mtok", null);
        return prefix("prices", () -> new ModelPrice(in, price(p, "output_mtok", null), price(p, "cache_read_mtok", in),
                price(p, "cache_write_mtok", in)));
    }

    private static BigDecimal price(JsonNode p, String f, BigDecimal fallback) {
        JsonNode v = p.get(f);
        if (v == null && fallback != null) {
            return fallback;
        }
        if (v == null || !v.isNumber()) {
            throw new IllegalArgumentException("prices." + f + " must be a number of dollars per million tokens, got " + v);
        }
        if (v.decimalValue().signum() < 0) {
            throw new IllegalArgumentException("prices." + f + " must not be negative, got " + v);
        }
        return v.decimalValue();
    }

    /**
     * @param c a config
     * @return its budgets as {@code set_config.lua} takes them (ARGV[9]), "" when none
     */
    public static String scriptBudgets(LimitConfig c) {
        return String.join(",", c.budgets().stream().map(Budget::scriptSpec).toList());
    }

    private static <T> T prefix(String field, java.util.function.Supplier<T> s) {
        try {
            return s.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage(), e);
        }
    }

    private static long integer(JsonNode n, String f) {
        JsonNode v = n.get(f);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new IllegalArgumentException(f + " must be a whole number, got " + v);
        }
        return v.asLong();
    }

    private static Duration seconds(JsonNode n, String f) {
        JsonNode v = n.get(f);
        if (v == null || !v.isNumber() || v.asDouble() < 0 || v.asDouble() > 86_400) {
            throw new IllegalArgumentException(f + " must be a number of seconds between 0 and 86400, got " + v);
        }
        return Duration.ofMillis(Math.round(v.asDouble() * 1000));
    }

    private static String text(JsonNode n, String f) {
        JsonNode v = n.get(f);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(f + " must be a string, got " + v);
        }
        return v.asText();
    }

    private static String optionalText(JsonNode n, String f) {
        JsonNode v = n.get(f);
        return v == null || v.isNull() ? null : text(n, f);
    }

    private static boolean bool(JsonNode n, String f) {
        JsonNode v = n.get(f);
        if (v == null || !v.isBoolean()) {
            throw new IllegalArgumentException(f + " must be true or false, got " + v);
        }
        return v.asBoolean();
    }
}
