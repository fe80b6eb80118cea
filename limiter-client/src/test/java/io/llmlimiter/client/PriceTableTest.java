package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.math.BigDecimal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The bundled price table, read independently as plain JSON to check what the client finds. */
class PriceTableTest {

    private static JsonNode raw() throws Exception {
        try (InputStream in = PriceTable.class.getResourceAsStream("prices/genai-prices.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    private static JsonNode rawModel(String provider, String model) throws Exception {
        for (JsonNode p : raw()) {
            if (p.get("id").asText().equals(provider)) {
                for (JsonNode m : p.get("models")) {
                    if (m.get("id").asText().equals(model)) {
                        return m.get("prices");
                    }
                }
            }
        }
        throw new AssertionError(provider + "/" + model + " is not in the bundled table");
    }

    @ParameterizedTest
    @CsvSource({
        "openai, gpt-4o, openai, gpt-4o",
        "openai, gpt-4o-mini-2024-07-18, openai, gpt-4o-mini",
        "anthropic, claude-3-5-sonnet-20241022, anthropic, claude-3-5-sonnet",
        "anthropic, claude-haiku-4-5, anthropic, claude-haiku-4-5",
        "google, gemini-2.5-flash, google, gemini-2.5-flash"})
    void knownModelsGetTheTablesPrices(String provider, String model, String tableProvider, String tableModel)
            throws Exception {
        JsonNode expected = rawModel(tableProvider, tableModel);

        ModelPrice p = PriceTable.bundled().find(new Target(provider, model)).orElseThrow();

        assertThat(p.inputMtok()).isEqualByComparingTo(expected.get("input_mtok").decimalValue());
        assertThat(p.outputMtok()).isEqualByComparingTo(expected.get("output_mtok").decimalValue());
        BigDecimal read = expected.has("cache_read_mtok") ? expected.get("cache_read_mtok").decimalValue()
                : expected.get("input_mtok").decimalValue();
        assertThat(p.cacheReadMtok()).isEqualByComparingTo(read);
        if (expected.has("cache_write_mtok")) {
            assertThat(p.cacheWriteMtok()).isEqualByComparingTo(expected.get("cache_write_mtok").decimalValue());
        }
    }

    @Test
    void aCallsCostIsExactInMicroDollarsRoundedUpOncePerCall() throws Exception {
        ModelPrice mini = PriceTable.bundled().find(new Target("openai", "gpt-4o-mini")).orElseThrow();
        JsonNode raw = rawModel("openai", "gpt-4o-mini");
        BigDecimal exact = raw.get("input_mtok").decimalValue().multiply(BigDecimal.valueOf(1234))
                .add(raw.get("cache_read_mtok").decimalValue().multiply(BigDecimal.valueOf(100)))
                .add(raw.get("output_mtok").decimalValue().multiply(BigDecimal.valueOf(567)));

        long micros = mini.microUsd(1234, 100, 0, 567);

        assertThat(BigDecimal.valueOf(micros)).isGreaterThanOrEqualTo(exact);
        assertThat(BigDecimal.valueOf(micros - 1)).isLessThan(exact);
    }

    @Test
    void anEstimateWithoutASplitIsPricedAtTheHigherPrice() {
        ModelPrice p = ModelPrice.of("2.5", "10");

        assertThat(p.microUsd(Estimate.tokens(1000))).isEqualTo(10_000);
        assertThat(p.microUsd(Estimate.of(1000, 100))).isEqualTo(2_500 + 1_000);
        assertThat(p.microUsd(Estimate.requestOnly())).isZero();
    }

    @Test
    void routersFindTheirOwnModelsAndUnknownModelsHaveNoPrice() {
        assertThat(PriceTable.bundled().find(new Target("openrouter", "openai/gpt-4o"))).isPresent();
        assertThat(PriceTable.bundled().find(new Target("openai", "no-such-model-anywhere"))).isEmpty();
        assertThat(PriceTable.bundled().find(new Target("mock", "gpt-4o"))).isEmpty();
    }

    @Test
    void aTableWithABadPriceIsRefusedWholeNamingTheField() {
        String bad = "[{\"id\": \"x\", \"models\": [{\"id\": \"ok\", \"match\": {\"equals\": \"ok\"}, \"prices\": "
                + "{\"input_mtok\": 1, \"output_mtok\": 2}}, {\"id\": \"m\", \"match\": {\"equals\": \"m\"}, "
                + "\"prices\": {\"input_mtok\": -1, \"output_mtok\": 2}}]}]";
        assertThatThrownBy(() -> PriceTable.parse(bad)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("providers[x].models[m].prices.input_mtok").hasMessageContaining("negative");
        assertThatThrownBy(() -> PriceTable.parse(bad.replace("-1", "\"cheap\"")))
                .hasMessageContaining("providers[x].models[m].prices.input_mtok must be a number");
        assertThatThrownBy(() -> PriceTable.parse("{\"currency\": \"EUR\", \"providers\": []}"))
                .hasMessageContaining("currency must be USD");
        assertThatThrownBy(() -> PriceTable.parse("{not json")).hasMessageContaining("not valid JSON");
        assertThat(PriceTable.parse(bad.replace("-1", "1")).size()).isEqualTo(2);
    }

    @Test
    void budgetsParseAndNameTheirField() {
        assertThat(Budget.parse("usd=50/1d")).isEqualTo(new Budget(50_000_000, java.time.Duration.ofDays(1), null));
        assertThat(Budget.parse("usd=1000/month").period()).isEqualTo(Budget.Period.MONTH);
        assertThat(Budget.parse("usd=0.25/day").microUsd()).isEqualTo(250_000);
        assertThat(Budget.parse("usd=20/day").toString()).isEqualTo("usd=20/day");
        assertThatThrownBy(() -> Budget.parse("usd=-5/day")).hasMessageContaining("usd must not be negative");
        assertThatThrownBy(() -> Budget.parse("usd=five/day")).hasMessageContaining("usd must be a number");
        assertThatThrownBy(() -> Budget.parse("usd=0.0000001/day")).hasMessageContaining("six decimals");
        assertThatThrownBy(() -> Budget.parse("usd=5/week")).hasMessageContaining("usd window");
        assertThatThrownBy(() -> Budget.parse("eur=5/day")).hasMessageContaining("usd=amount/window");
    }

    @Test
    void aConfigCarriesBudgetsAndAPriceOverrideThroughJson() {
        LimitConfig c = LimitConfig.builder(new Target("mock", "m")).limits("requests=10/1s,usd=50/1d,usd=1000/month")
                .prices(ModelPrice.of("1", "2")).build();

        LimitConfig back = LimitConfig.fromJson(c.toJson());

        assertThat(back.limits()).hasSize(1);
        assertThat(back.budgets()).extracting(Budget::toString).containsExactly("usd=50/1d", "usd=1000/month");
        assertThat(back.prices()).isEqualTo(c.prices());
        assertThat(back).isEqualTo(c);
        assertThatThrownBy(() -> LimitConfig.fromJson("{\"provider\":\"a\",\"model\":\"b\",\"limits\":\"requests=1/1s\","
                + "\"prices\":{\"input_mtok\":-2,\"output_mtok\":1}}")).hasMessageContaining("prices.input_mtok must not be negative");
        assertThatThrownBy(() -> LimitConfig.fromJson("{\"provider\":\"a\",\"model\":\"b\",\"limits\":\"requests=1/1s\","
                + "\"prices\":{\"currency\":\"EUR\",\"input_mtok\":2,\"output_mtok\":1}}")).hasMessageContaining("prices.currency");
        assertThatThrownBy(() -> LimitConfig.fromJson("{\"provider\":\"a\",\"model\":\"b\",\"limits\":\"requests=1/1s\","
                + "\"budgets\":[\"usd=x/day\"]}")).hasMessageContaining("budgets[0]: usd must be a number");
    }
}
