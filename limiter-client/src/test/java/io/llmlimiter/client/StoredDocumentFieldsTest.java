package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The admin server keeps a probe record ({@code is_tested}, {@code last_test_date},
 * {@code test_notes}) in the stored config document: clients read such documents and ignore those
 * fields, and their own configs never hold them.
 */
class StoredDocumentFieldsTest {

    private static final String STORED = """
            {"provider":"openai","model":"gpt-4o","limits":"requests=500/60s","max_concurrent":4,
             "is_tested":true,"last_test_date":"2026-11-30","test_notes":"requests 520/60s (headers)"}""";

    @Test
    void aDocumentWithTheServersProbeRecordParsesAndTheConfigHoldsNoneOfIt() {
        LimitConfig c = LimitConfig.fromJson(STORED);

        assertThat(c.limits()).containsExactly(Limit.parse("requests=500/60s"));
        assertThat(c.maxConcurrent()).isEqualTo(4);
        assertThat(c.toJson()).doesNotContain("is_tested").doesNotContain("last_test_date")
                .doesNotContain("test_notes");
        assertThat(c).isEqualTo(LimitConfig.builder(new Target("openai", "gpt-4o")).limits("requests=500/60s")
                .maxConcurrent(4).build());
    }

    @Test
    void probeFieldsOfAnyShapeAreIgnoredButUnknownFieldsAreStillRefused() {
        // Old servers and hand-edited documents: what these fields hold is the server's business.
        LimitConfig c = LimitConfig.fromJson("""
                {"provider":"a","model":"b","limits":"requests=1/1s","is_tested":null,"last_test_date":null,
                 "test_notes":"%s"}""".formatted("n".repeat(5000)));
        assertThat(c.limits()).hasSize(1);

        assertThatThrownBy(() -> LimitConfig.fromJson("{\"provider\":\"a\",\"model\":\"b\",\"limits\":\"requests=1/1s\","
                + "\"tested\":true}")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'tested'");
    }
}
