package io.llmlimiter.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.internal.ConfigJson;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A table of model prices in the shape of pydantic's {@code genai-prices} data
 * ({@code prices/data_slim.json}, MIT): a list of providers, each with its models, their match
 * rules and their prices per million tokens. The client bundles a copy ({@link #bundled()}); a
 * newer table can be loaded without a release ({@link #parse(String)}, {@code serve --prices},
 * {@code PUT /api/v1/prices}). Prices are in US dollars. Tiered prices (long-context tiers) are
 * taken at their base tier, of dated prices the latest in force today (UTC), and of prices for
 * part of the day (peak and off-peak) the higher.
 *
 * <p>Parsing is all or nothing: a table with a negative or non-numeric price, an unknown
 * currency or a bad match rule is refused whole, naming the field. This class is immutable and
 * thread-safe.
 */
public final class PriceTable {

    private static final String BUNDLED = "prices/genai-prices.json";
    private static volatile PriceTable bundled;

    private final List<Provider> providers;
    private final int models;

    private record Provider(String id, JsonNode providerMatch, List<Model> models) {
    }

    private record Model(String id, JsonNode match, ModelPrice price) {
    }

    private PriceTable(List<Provider> providers) {
        this.providers = List.copyOf(providers);
        this.models = providers.stream().mapToInt(p -> p.models().size()).sum();
    }

    /** @return the table bundled with the client (genai-prices, see the NOTICE beside it) */
    public static PriceTable bundled() {
        PriceTable t = bundled;
        if (t == null) {
            try (InputStream in = PriceTable.class.getResourceAsStream(BUNDLED)) {
                if (in == null) {
                    throw new IllegalStateException("missing resource " + BUNDLED);
                }
                t = parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            bundled = t;
        }
        return t;
    }

    /** @return a table without prices: every model is unknown */
    public static PriceTable empty() {
        return new PriceTable(List.of());
    }

    /**
     * Parses a table: the genai-prices list of providers, or an object
     * {@code {"currency": "USD", "providers": [...]}}.
     *
     * @param json the table
     * @return the table
     * @throws IllegalArgumentException naming the bad field; nothing of the table is kept
     */
    public static PriceTable parse(String json) {
        JsonNode root;
        try {
            root = ConfigJson.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("prices: not valid JSON: " + e.getOriginalMessage());
        }
        if (root != null && root.isObject()) {
            JsonNode currency = root.get("currency");
            if (currency != null && !(currency.isTextual() && currency.asText().equals("USD"))) {
                throw new IllegalArgumentException("currency must be USD, got " + currency);
            }
            root = root.get("providers");
            if (root == null) {
                throw new IllegalArgumentException("providers is required");
            }
        }
        if (root == null || !root.isArray()) {
            throw new IllegalArgumentException("providers must be a list of providers");
        }
        List<Provider> out = new ArrayList<>();
        int i = 0;
        for (JsonNode p : root) {
            String where = "providers[" + i++ + "]";
            String id = text(p, "id", where);
            where = "providers[" + id + "]";
            JsonNode models = p.get("models");
            if (models == null || !models.isArray()) {
                throw new IllegalArgumentException(where + ".models must be a list");
            }
            checkMatch(p.get("provider_match"), where + ".provider_match");
            List<Model> list = new ArrayList<>();
            for (JsonNode m : models) {
                String mid = text(m, "id", where + ".models");
                String at = where + ".models[" + mid + "]";
                JsonNode match = m.get("match");
                if (match == null) {
                    throw new IllegalArgumentException(at + ".match is required");
                }
                checkMatch(match, at + ".match");
                list.add(new Model(mid, match, price(m.get("prices"), at + ".prices")));
            }
            out.add(new Provider(id, p.get("provider_match"), list));
        }
        return new PriceTable(out);
    }

    /** @return the number of models priced */
    public int size() {
        return models;
    }

    /**
     * @param target a target: its provider names the table's provider (by id, or its provider
     *     match rule), its model is matched against that provider's models in order
     * @return the model's price, or empty when the table does not know it
     */
    public Optional<ModelPrice> find(Target target) {
        String provider = target.provider().toLowerCase(Locale.ROOT);
        String model = target.model().toLowerCase(Locale.ROOT);
        for (Provider p : providers) {
            if (p.id().equalsIgnoreCase(provider)) {
                return find(p, model);
            }
        }
        for (Provider p : providers) {
            if (p.providerMatch() != null && matches(p.providerMatch(), provider)) {
                return find(p, model);
            }
        }
        return Optional.empty();
    }

    private static Optional<ModelPrice> find(Provider p, String model) {
        for (Model m : p.models()) {
            if (matches(m.match(), model)) {
                return Optional.of(m.price());
            }
        }
        return Optional.empty();
    }

    private static boolean matches(JsonNode rule, String s) {
        if (rule.has("or")) {
            for (JsonNode r : rule.get("or")) {
                if (matches(r, s)) {
                    return true;
                }
            }
            return false;
        }
        if (rule.has("and")) {
            for (JsonNode r : rule.get("and")) {
                if (!matches(r, s)) {
                    return false;
                }
            }
            return true;
        }
        if (rule.has("equals")) {
            return s.equals(rule.get("equals").asText().toLowerCase(Locale.ROOT));
        }
        if (rule.has("starts_with")) {
            return s.startsWith(rule.get("starts_with").asText().toLowerCase(Locale.ROOT));
        }
        if (rule.has("ends_with")) {
            return s.endsWith(rule.get("ends_with").asText().toLowerCase(Locale.ROOT));
        }
        if (rule.has("contains")) {
            return s.contains(rule.get("contains").asText().toLowerCase(Locale.ROOT));
        }
        if (rule.has("regex")) {
            return Pattern.compile(rule.get("regex").asText()).matcher(s).find();
        }
        return false;
    }

    private static void checkMatch(JsonNode rule, String where) {
        if (rule == null) {
            return;
        }
        if (!rule.isObject() || rule.size() != 1) {
            throw new IllegalArgumentException(where + " must be an object with one rule");
        }
        String kind = rule.fieldNames().next();
        JsonNode v = rule.get(kind);
        switch (kind) {
            case "or", "and" -> {
                if (!v.isArray()) {
                    throw new IllegalArgumentException(where + "." + kind + " must be a list");
                }
                int i = 0;
                for (JsonNode r : v) {
                    checkMatch(r, where + "." + kind + "[" + i++ + "]");
                }
            }
            case "equals", "starts_with", "ends_with", "contains", "regex" -> {
                if (!v.isTextual()) {
                    throw new IllegalArgumentException(where + "." + kind + " must be a string");
                }
                if (kind.equals("regex")) {
                    try {
                        Pattern.compile(v.asText());
                    } catch (PatternSyntaxException e) {
                        throw new IllegalArgumentException(where + ".regex is not a valid pattern");
                    }
                }
            }
            default -> throw new IllegalArgumentException(where + ": unknown rule '" + kind + "'");
        }
    }

    /** A price block, or a list of dated blocks: the latest in force today. */
    private static ModelPrice price(JsonNode prices, String where) {
        if (prices == null) {
            throw new IllegalArgumentException(where + " is required");
        }
        if (prices.isObject()) {
            return block(prices, where);
        }
        if (!prices.isArray() || prices.isEmpty()) {
            throw new IllegalArgumentException(where + " must be an object or a non-empty list");
        }
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        ModelPrice chosen = null;
        int i = 0;
        for (JsonNode dated : prices) {
            String at = where + "[" + i++ + "]";
            ModelPrice p = block(dated.get("prices"), at + ".prices");
            JsonNode constraint = dated.path("constraint");
            JsonNode start = constraint.path("start_date");
            if (chosen == null) {
                chosen = p;
            } else if (constraint.has("start_time") || constraint.has("end_time")) {
                // A price for part of the day (peak, off-peak): budgets take the higher one.
                chosen = new ModelPrice(chosen.inputMtok().max(p.inputMtok()), chosen.outputMtok().max(p.outputMtok()),
                        chosen.cacheReadMtok().max(p.cacheReadMtok()), chosen.cacheWriteMtok().max(p.cacheWriteMtok()));
            } else if (start.isMissingNode() || start.asText().compareTo(today) <= 0) {
                chosen = p;
            }
        }
        return chosen;
    }

    private static ModelPrice block(JsonNode p, String where) {
        if (p == null || !p.isObject()) {
            throw new IllegalArgumentException(where + " must be an object");
        }
        BigDecimal in = rate(p.get("input_mtok"), where + ".input_mtok");
        BigDecimal out = rate(p.get("output_mtok"), where + ".output_mtok");
        JsonNode read = p.get("cache_read_mtok");
        JsonNode write = p.get("cache_write_mtok");
        // Other units (audio, images, per-request fees) are not counted by this limiter.
        for (var it = p.fields(); it.hasNext(); ) {
            var f = it.next();
            if (f.getKey().endsWith("_mtok") || f.getKey().endsWith("_kcount")) {
                rate(f.getValue(), where + "." + f.getKey());
            }
        }
        try {
            return new ModelPrice(in, out, read == null ? in : rate(read, where + ".cache_read_mtok"),
                    write == null ? in : rate(write, where + ".cache_write_mtok"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + "." + e.getMessage(), e);
        }
    }

    /** A number, or a tiered price {@code {base, tiers}} taken at its base. Missing: 0. */
    private static BigDecimal rate(JsonNode v, String where) {
        if (v == null || v.isNull()) {
            return BigDecimal.ZERO;
        }
        if (v.isObject()) {
            JsonNode tiers = v.get("tiers");
            if (tiers != null) {
                int i = 0;
                for (JsonNode t : tiers) {
                    rate(t.get("price"), where + ".tiers[" + i++ + "].price");
                }
            }
            return rate(v.get("base"), where + ".base");
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException(where + " must be a number, got " + v);
        }
        BigDecimal d = v.decimalValue();
        if (d.signum() < 0) {
            throw new IllegalArgumentException(where + " must not be negative, got " + v);
        }
        return d;
    }

    private static String text(JsonNode n, String f, String where) {
        JsonNode v = n == null ? null : n.get(f);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            throw new IllegalArgumentException(where + "." + f + " must be a non-empty string");
        }
        return v.asText();
    }

    @Override
    public String toString() {
        return "PriceTable[" + providers.size() + " providers, " + models + " models]";
    }
}
