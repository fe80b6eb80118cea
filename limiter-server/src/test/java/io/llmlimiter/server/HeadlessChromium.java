package io.llmlimiter.server;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A real headless Chromium for browser tests, found on the {@code PATH} (Debian: the packages
 * {@code chromium} and {@code chromium-driver}).
 *
 * <p>As a JUnit extension ({@code @ExtendWith(HeadlessChromium.class)}) it decides whether the
 * tests run: when Chromium and chromedriver are on the PATH they do; when one is missing they are
 * skipped and the reason is printed, unless the environment variable {@value #REQUIRE_ENV} is set
 * to {@code 1} or {@code true} (CI sets it), in which case the missing browser fails the tests. The
 * check runs before any other extension, so a skipped class starts no Redis.
 *
 * <p>This class is thread-safe.
 *
 * @param browser the Chromium executable
 * @param driver the chromedriver executable
 */
record HeadlessChromium(Path browser, Path driver) {

    /** Set to {@code 1} or {@code true} to make a missing browser a failure instead of a skip. */
    static final String REQUIRE_ENV = "LLMLIMITER_REQUIRE_BROWSER";

    static final List<String> BROWSER_NAMES = List.of("chromium", "chromium-browser", "google-chrome",
            "google-chrome-stable");
    static final List<String> DRIVER_NAMES = List.of("chromedriver");

    /**
     * Looks for a browser and a driver in the directories of a {@code PATH} value.
     *
     * @param path a {@code PATH} value, directories separated by {@link File#pathSeparator}
     * @return both executables, or empty when either is missing
     */
    static Optional<HeadlessChromium> find(String path) {
        Optional<Path> browser = firstExecutable(path, BROWSER_NAMES);
        Optional<Path> driver = firstExecutable(path, DRIVER_NAMES);
        return browser.isPresent() && driver.isPresent()
                ? Optional.of(new HeadlessChromium(browser.get(), driver.get()))
                : Optional.empty();
    }

    /**
     * Finds the browser on this process's {@code PATH}, which {@link Extension} has checked.
     *
     * @return the browser
     * @throws IllegalStateException when it is missing
     */
    static HeadlessChromium onPath() {
        return find(System.getenv().getOrDefault("PATH", ""))
                .orElseThrow(() -> new IllegalStateException(missing(System.getenv().getOrDefault("PATH", ""))));
    }

    /**
     * Whether browser tests run, are skipped, or fail, for a given {@code PATH} and {@value #REQUIRE_ENV}.
     *
     * @param path a {@code PATH} value
     * @param require the value of {@value #REQUIRE_ENV}, or null
     * @return enabled when the browser is there; disabled with the reason when not and not required
     * @throws IllegalStateException when the browser is missing and required
     */
    static ConditionEvaluationResult evaluate(String path, String require) {
        if (find(path).isPresent()) {
            return ConditionEvaluationResult.enabled("Chromium and chromedriver are on the PATH");
        }
        String reason = missing(path);
        if (require != null && (require.trim().equals("1") || require.trim().equalsIgnoreCase("true"))) {
            throw new IllegalStateException(reason + "; " + REQUIRE_ENV + "=" + require.trim()
                    + " makes a browser test without a browser a failure");
        }
        return ConditionEvaluationResult.disabled(reason + "; skipped (set " + REQUIRE_ENV
                + "=1 to make this a failure)");
    }

    /**
     * Starts chromedriver and a headless Chromium with a fresh profile; Selenium Manager is never
     * asked to look for or download anything.
     *
     * @return the driver; quit it when done, which also stops the chromedriver process
     * @throws IOException when the temporary directories cannot be made
     */
    WebDriver start() throws IOException {
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile())
                .usingAnyFreePort()
                .withLogFile(Files.createTempDirectory("llmlim-driver-").resolve("driver.log").toFile())
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(browser.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-quic", "--user-data-dir=" + Files.createTempDirectory("llmlim-chromium-"));
        try {
            return new ChromeDriver(service, options);
        } catch (RuntimeException e) {
            service.stop();
            throw e;
        }
    }

    private static String missing(String path) {
        StringBuilder what = new StringBuilder();
        if (firstExecutable(path, BROWSER_NAMES).isEmpty()) {
            what.append("no Chromium (").append(String.join(", ", BROWSER_NAMES)).append(")");
        }
        if (firstExecutable(path, DRIVER_NAMES).isEmpty()) {
            what.append(what.length() == 0 ? "no " : " and no ").append(String.join(", ", DRIVER_NAMES));
        }
        return what + " on the PATH; install them (Debian: apt-get install chromium chromium-driver)";
    }

    private static Optional<Path> firstExecutable(String path, List<String> names) {
        for (String name : names) {
            for (String dir : path.split(File.pathSeparator)) {
                if (dir.isEmpty()) {
                    continue;
                }
                Path candidate = Path.of(dir, name);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    /** The JUnit condition: run, skip with the reason printed, or fail when {@value #REQUIRE_ENV} is set. */
    static final class Extension implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            ConditionEvaluationResult result =
                    evaluate(System.getenv().getOrDefault("PATH", ""), System.getenv(REQUIRE_ENV));
            if (result.isDisabled() && context.getTestMethod().isEmpty()) {
                // Surefire shows a skipped class as a bare count; say why where a developer looks.
                System.err.println("[SKIPPED] " + context.getDisplayName() + ": " + result.getReason().orElse(""));
            }
            return result;
        }
    }
}
