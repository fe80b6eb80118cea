package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.retry.HttpStatusException;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The target detail view in a real headless Chromium: config, effective limits against configured
 * ones with why, refusals by reason, and history charts drawn with their data and the limit line.
 * Real time passes here (the server samples every 5 s).
 */
@Tag("browser")
@ExtendWith(HeadlessChromium.Extension.class)
@WithRedis
class DashboardHistoryTest {

    private static final Target TARGET = Target.parse("history/model-a");

    // Counts the canvas pixels near a colour: the chart's lines are drawn there, not in the DOM.
    private static final String PIXELS = "var c = document.querySelector(arguments[0] + ' canvas');"
            + "if (!c) { return -1; }"
            + "var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; var n = 0;"
            + "for (var i = 0; i < d.length; i += 4) {"
            + "  if (d[i + 3] > 128 && Math.abs(d[i] - arguments[1]) < 40 && Math.abs(d[i + 1] - arguments[2]) < 40"
            + "      && Math.abs(d[i + 2] - arguments[3]) < 40) { n++; } }"
            + "return n;";

    @Test
    void theDetailViewShowsConfigEffectiveLimitsRefusalsAndChartsWithTheLimitDrawn(RedisProcess redis) throws Exception {
        try (TestServer s = TestServer.start(redis.uri())) {
            assertThat(s.send("PUT", "/api/v1/targets/history/model-a", "{\"limits\":\"requests=10/60s,tokens=5000/60s\","
                    + "\"max_concurrent\":3,\"base_retry_delay\":0.01}").statusCode()).isEqualTo(201);
            // A provider 429 on an admitted call: the fleet learns a lower request limit.
            AtomicInteger attempts = new AtomicInteger();
            s.limiter.execute(TARGET, Estimate.of(100, 20), ctx -> {
                if (attempts.getAndIncrement() == 0) {
                    throw new HttpStatusException(429);
                }
                return "ok";
            });

            WebDriver driver = HeadlessChromium.onPath().start();
            try {
                WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(40));
                wait.ignoring(StaleElementReferenceException.class);
                driver.get(s.server.url() + "/");
                driver.findElement(By.id("token")).sendKeys(TestServer.TOKEN);
                driver.findElement(By.id("connect")).click();
                wait.until(d -> {
                    d.findElement(By.cssSelector("tr[data-target='history/model-a'] .details")).click();
                    return true;
                });
                wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("detail")));
                assertThat(driver.findElement(By.id("detail-target")).getText()).isEqualTo("history/model-a");

                // Config, and the effective limit against the configured one, with why.
                wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("detail-config"), "\"max_concurrent\": 3"));
                assertThat(driver.findElement(By.id("detail-config")).getText())
                        .contains("\"amount\": 10").contains("\"amount\": 5000");
                By requests = By.cssSelector("#detail-limits tr[data-resource='requests']");
                wait.until(ExpectedConditions.textToBePresentInElementLocated(requests, "learned from provider 429s"));
                WebElement row = driver.findElement(requests);
                assertThat(row.findElement(By.className("configured")).getText()).isEqualTo("10");
                assertThat(Long.parseLong(row.findElement(By.className("effective")).getText())).isBetween(5L, 9L);
                assertThat(driver.findElement(By.cssSelector("#detail-limits tr[data-resource='tokens'] .reason")).getText())
                        .isEqualTo("as configured");

                // The charts fill in as samples arrive: two rates need three samples.
                wait.until(d -> points(d, "chart-requests") >= 2);
                assertThat(driver.findElement(By.id("chart-requests")).getAttribute("data-series"))
                        .isEqualTo("admitted/s|limit (effective)/s|limit (configured)/s");
                assertThat(driver.findElement(By.cssSelector("#chart-requests .u-legend")).getText())
                        .contains("admitted/s").contains("limit (effective)/s");
                // The limit line (red) and the admitted line (blue) are on the canvas.
                wait.until(d -> pixels(d, "#chart-requests", 198, 40, 40) > 50);
                wait.until(d -> pixels(d, "#chart-requests", 47, 91, 211) > 50);
                assertThat(driver.findElement(By.id("chart-tokens")).getAttribute("data-series")).contains("limit (effective)/s");
                assertThat(driver.findElement(By.id("chart-waiting")).getAttribute("data-series"))
                        .isEqualTo("waiting|in flight|concurrency cap");

                // Refusals made now show by reason at the next sample.
                int refused = 0;
                for (int i = 0; i < 12; i++) {
                    Optional<Permit> p = s.limiter.tryAcquire(TARGET, Estimate.requestOnly());
                    if (p.isPresent()) {
                        p.get().close();
                    } else {
                        refused++;
                    }
                }
                assertThat(refused).isPositive();
                int expected = refused;
                wait.until(d -> refusalsInLast15Minutes(d) == expected);
                assertThat(Long.parseLong(driver.findElement(By.cssSelector(
                        "#detail-refusals tr[data-reason='window'] .last-1m")).getText())).isPositive();

                // The clients' reported waits reach their chart.
                wait.until(d -> points(d, "chart-wait") >= 1);
            } finally {
                driver.quit();
            }
        }
    }

    private static int points(WebDriver d, String chart) {
        String p = d.findElement(By.id(chart)).getAttribute("data-points");
        return p == null ? 0 : Integer.parseInt(p);
    }

    private static long pixels(WebDriver d, String chart, int r, int g, int b) {
        return ((Number) ((JavascriptExecutor) d).executeScript(PIXELS, chart, r, g, b)).longValue();
    }

    private static long refusalsInLast15Minutes(WebDriver d) {
        List<WebElement> cells = d.findElements(By.cssSelector("#detail-refusals .last-15m"));
        return cells.stream().mapToLong(c -> Long.parseLong(c.getText())).sum();
    }
}
