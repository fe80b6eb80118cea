package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.server.ProblemException.FieldError;
import io.llmlimiter.server.ProblemException.Kind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ProblemsTest {

    @ParameterizedTest(name = "''{0}'' names field {1}")
    @CsvSource(delimiter = '|', value = {
        "limits[0]: amount must be between 1 and 1000000000000, got 0 | limits[0].amount | #/limits/0/amount",
        "limits[2]: unknown field 'x' | limits[2].x | #/limits/2/x",
        "unknown field 'colour'; known fields are [provider] | colour | #/colour",
        "provider is required | provider | #/provider",
        "model 'x' does not match the target a/b | model | #/model",
        "max_concurrent must be between 0 and 1000000, got -1 | max_concurrent | #/max_concurrent",
        "requests_per_minute: amount must be between 1 and 1000000000000, got 0 | requests_per_minute | #/requests_per_minute",
        "limits: window must be a duration like 500ms, got 'x' | limits | #/limits",
        "accounting: accounting must be keep or actual, got 'maybe' | accounting | #/accounting",
        "deepseek_chat: limits[0]: window must be a duration | deepseek_chat.limits[0].window | #/deepseek_chat/limits/0/window",
        "openai/gpt-4: provider is required | openai/gpt-4.provider | #/openai~1gpt-4/provider",
        "[3]: limits[1]: amount must be a whole number, got 2.5 | [3].limits[1].amount | #/3/limits/1/amount",
        "body is not valid JSON: Unexpected end-of-input | body | #",
        "config must be a JSON object | body | #",
        "limits must hold at least one limit (or set max_concurrent) | limits | #/limits"
    })
    void validationMessagesNameTheirField(String message, String field, String pointer) {
        FieldError e = Problems.validation(Kind.INVALID_CONFIG, message).errors().get(0);

        assertThat(e.field()).isEqualTo(field);
        assertThat(e.pointer()).isEqualTo(pointer);
        assertThat(e.detail()).isEqualTo(message);
    }
}
