package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.io.TempDir;

/** Browser tests run with a browser, are skipped without one, and fail without one when CI requires it. */
class HeadlessChromiumTest {

    @TempDir
    Path dir;

    @Test
    void aBrowserAndADriverOnThePathEnableTheTests() throws IOException {
        Path bin1 = Files.createDirectory(dir.resolve("bin1"));
        Path bin2 = Files.createDirectory(dir.resolve("bin2"));
        Path browser = executable(bin1, "chromium-browser");
        Path driver = executable(bin2, "chromedriver");
        String path = dir.resolve("nothing-here") + File.pathSeparator + bin1 + File.pathSeparator + bin2;

        assertThat(HeadlessChromium.find(path)).contains(new HeadlessChromium(browser, driver));
        assertThat(HeadlessChromium.evaluate(path, "1").isDisabled()).isFalse();
        assertThat(HeadlessChromium.evaluate(path, null).isDisabled()).isFalse();
    }

    @Test
    void withoutTheDriverTheTestsAreSkippedWithTheReason() throws IOException {
        executable(dir, "chromium");
        ConditionEvaluationResult result = HeadlessChromium.evaluate(dir.toString(), null);

        assertThat(result.isDisabled()).isTrue();
        assertThat(result.getReason()).get().asString()
                .contains("no chromedriver on the PATH").doesNotContain("no Chromium")
                .contains(HeadlessChromium.REQUIRE_ENV);
    }

    @Test
    void aFileThatIsNotExecutableIsNoBrowser() throws IOException {
        Files.createFile(dir.resolve("chromium"));
        executable(dir, "chromedriver");

        assertThat(HeadlessChromium.find(dir.toString())).isEmpty();
        assertThat(HeadlessChromium.evaluate(dir.toString(), "0").getReason()).get().asString()
                .contains("no Chromium (chromium, chromium-browser");
    }

    @Test
    void whenRequiredAMissingBrowserIsAFailureNamingTheVariable() {
        for (String required : new String[] {"1", "true", " TRUE "}) {
            assertThatThrownBy(() -> HeadlessChromium.evaluate(dir.toString(), required))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no Chromium")
                    .hasMessageContaining("and no chromedriver")
                    .hasMessageContaining(HeadlessChromium.REQUIRE_ENV + "=");
        }
    }

    private static Path executable(Path dir, String name) throws IOException {
        return Files.createFile(dir.resolve(name),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    }
}
