package io.llmlimiter.client;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Objects;

/**
 * What a model costs, in dollars per million tokens, per kind of token. A price per million
 * tokens is exactly the cost of one token in micro-dollars, so costs are exact decimals; each
 * call's cost is rounded up to a whole micro-dollar and only whole micro-dollars are summed.
 * This class is immutable and thread-safe.
 *
 * @param inputMtok uncached input tokens
 * @param outputMtok output tokens
 * @param cacheReadMtok input tokens read from the provider's prompt cache
 * @param cacheWriteMtok input tokens written to the provider's prompt cache
 */
public record ModelPrice(BigDecimal inputMtok, BigDecimal outputMtok, BigDecimal cacheReadMtok,
                         BigDecimal cacheWriteMtok) {

    /** No cost. */
    public static final ModelPrice FREE = new ModelPrice(BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO);

    /** Validates the prices, naming the bad field. */
    public ModelPrice {
        check("input_mtok", inputMtok);
        check("output_mtok", outputMtok);
        check("cache_read_mtok", cacheReadMtok);
        check("cache_write_mtok", cacheWriteMtok);
    }

    /**
     * @param input dollars per million input tokens
     * @param output dollars per million output tokens
     * @return a price with cache reads and writes at the input price
     */
    public static ModelPrice of(String input, String output) {
        BigDecimal in = number("input_mtok", input);
        return new ModelPrice(in, number("output_mtok", output), in, in);
    }

    private static BigDecimal number(String field, String text) {
        try {
            return new BigDecimal(text);
        } catch (NumberFormatException | NullPointerException e) {
            throw new IllegalArgumentException(field + " must be a number, got '" + text + "'");
        }
    }

    private static void check(String field, BigDecimal v) {
        Objects.requireNonNull(v, field + " must not be null");
        if (v.signum() < 0) {
            throw new IllegalArgumentException(field + " must not be negative, got " + v.toPlainString());
        }
        if (v.compareTo(BigDecimal.valueOf(1_000_000)) > 0) {
            throw new IllegalArgumentException(field + " must be at most 1000000 dollars per million tokens, got "
                    + v.toPlainString());
        }
    }

    /**
     * The exact cost of a call, rounded up to a whole micro-dollar.
     *
     * @param input uncached input tokens
     * @param cacheRead input tokens read from the cache
     * @param cacheWrite input tokens written to the cache
     * @param output output tokens
     * @return micro-dollars
     */
    public long microUsd(long input, long cacheRead, long cacheWrite, long output) {
        BigDecimal c = inputMtok.multiply(BigDecimal.valueOf(Math.max(0, input)))
                .add(cacheReadMtok.multiply(BigDecimal.valueOf(Math.max(0, cacheRead))))
                .add(cacheWriteMtok.multiply(BigDecimal.valueOf(Math.max(0, cacheWrite))))
                .add(outputMtok.multiply(BigDecimal.valueOf(Math.max(0, output))));
        return c.setScale(0, RoundingMode.CEILING).longValueExact();
    }

    /**
     * The most an estimated call can cost: its input at the input price and its output at the
     * output price; a total without a split ({@link Estimate#tokens(long)}) at the higher price.
     *
     * @param e the estimate
     * @return micro-dollars
     */
    public long microUsd(Estimate e) {
        long split = microUsd(e.inputTokens(), 0, 0, e.outputTokens());
        BigDecimal top = inputMtok.max(outputMtok);
        long whole = top.multiply(BigDecimal.valueOf(e.tokens())).setScale(0, RoundingMode.CEILING).longValueExact();
        return Math.min(split, whole);
    }
}
