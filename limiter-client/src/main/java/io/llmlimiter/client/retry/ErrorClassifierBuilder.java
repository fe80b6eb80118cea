package io.llmlimiter.client.retry;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Builds an {@link ErrorClassifier} from override rules checked in insertion order, with a
 * fallback (by default {@link ErrorClassifier#defaults()}) for failures no rule matches.
 *
 * <p>The builder is mutable and not thread-safe; {@link #build()} copies the rules, and the
 * classifier it returns is immutable and thread-safe provided the supplied predicates and fallback
 * are.
 */
public final class ErrorClassifierBuilder {

    private final List<Rule> rules = new ArrayList<>();
    private ErrorClassifier fallback = ErrorClassifier.defaults();

    ErrorClassifierBuilder() {
    }

    /**
     * Classifies every failure with this HTTP status as {@code kind}.
     *
     * @param statusCode HTTP status code, 100 to 599
     * @param kind the kind to report
     * @return this builder
     */
    public ErrorClassifierBuilder status(int statusCode, FailureKind kind) {
        if (statusCode < 100 || statusCode > 599) {
            throw new IllegalArgumentException("statusCode must be between 100 and 599: " + statusCode);
        }
        return when(f -> f.statusCode().isPresent() && f.statusCode().getAsInt() == statusCode, kind);
    }

    /**
     * Classifies failures whose cause chain contains an instance of {@code type} as {@code kind}.
     *
     * @param type exception type to look for
     * @param kind the kind to report
     * @return this builder
     */
    public ErrorClassifierBuilder causeType(Class<? extends Throwable> type, FailureKind kind) {
        Objects.requireNonNull(type, "type");
        return when(f -> f.cause().map(Causes::chain).orElse(List.of()).stream().anyMatch(type::isInstance), kind);
    }

    /**
     * Classifies failures matching {@code predicate} as {@code kind}.
     *
     * @param predicate thread-safe, non-throwing test
     * @param kind the kind to report
     * @return this builder
     */
    public ErrorClassifierBuilder when(Predicate<ProviderFailure> predicate, FailureKind kind) {
        rules.add(new Rule(Objects.requireNonNull(predicate, "predicate"), Objects.requireNonNull(kind, "kind")));
        return this;
    }

    /**
     * Sets the classifier used when no rule matches.
     *
     * @param fallback the fallback classifier
     * @return this builder
     */
    public ErrorClassifierBuilder fallback(ErrorClassifier fallback) {
        this.fallback = Objects.requireNonNull(fallback, "fallback");
        return this;
    }

    /**
     * Creates the classifier from a snapshot of the current rules.
     *
     * @return an immutable classifier
     */
    public ErrorClassifier build() {
        List<Rule> snapshot = List.copyOf(rules);
        ErrorClassifier otherwise = fallback;
        return failure -> {
            for (Rule rule : snapshot) {
                if (rule.predicate.test(failure)) {
                    return rule.kind;
                }
            }
            return otherwise.classify(failure);
        };
    }

    private static final class Rule {
        final Predicate<ProviderFailure> predicate;
        final FailureKind kind;

        Rule(Predicate<ProviderFailure> predicate, FailureKind kind) {
            this.predicate = predicate;
            this.kind = kind;
        }
    }
}
