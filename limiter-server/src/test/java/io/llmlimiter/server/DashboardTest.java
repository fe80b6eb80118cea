package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Limit;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.retry.HttpStatusException;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/** Drives the dashboard in a real headless Chromium (Debian packages chromium and chromium-driver). */
@WithRedis
class DashboardTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @BeforeAll
    static void requireChromium() {
        // Fail, never skip: a dashboard nobody drove is a dashboard nobody tested.
        assertThat(Files.isExecutable(CHROMIUM)).as("Chromium is missing at " + CHROMIUM
                + "; install it: apt-get install -y chromium chromium-driver").isTrue();
        assertThat(Files.isExecutable(CHROMEDRIVER)).as("chromedriver is missing at " + CHROMEDRIVER
                + "; install it: apt-get install -y chromium chromium-driver").isTrue();
        // Selenium Manager must not look for or download anything.
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    }

    private static WebDriver chromium(ChromeDriverService service) throws Exception {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-quic", "--user-data-dir=" + Files.createTempDirectory("llmlim-chromium-"));
        return new ChromeDriver(service, options);
    }

    @Test
    void thePageShowsTheSeededTargetsLiveAndAnEditThroughTheFormChangesTheLimitInRedis(RedisProcess redis) throws Exception {
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().withLogFile(new File(Files.createTempDirectory("llmlim-driver-").toFile(), "driver.log"))
                .build();
        try (TestServer s = TestServer.start(redis.uri())) {
            WebDriver driver = chromium(service);
            try {
                // The table is re-rendered every second: an element found a moment ago may be gone.
                WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
                wait.ignoring(StaleElementReferenceException.class);
                driver.get(s.server.url() + "/");
                assertThat(driver.getTitle()).isEqualTo("llm-limiter");
                wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("health"), "Redis: up"));

                driver.findElement(By.id("token")).sendKeys(TestServer.TOKEN);
                driver.findElement(By.id("connect")).click();

                for (String target : new String[] {"openai/gpt-4", "deepseek/deepseek-chat", "anthropic/claude-3-5-sonnet"}) {
                    wait.until(ExpectedConditions.presenceOfElementLocated(row(target)));
                }
                assertThat(((JavascriptExecutor) driver).executeScript(
                        "return sessionStorage.getItem('llmlimiter.adminToken')")).isEqualTo(TestServer.TOKEN);

                // Live: a call admitted elsewhere shows up within the next refreshes.
                Target gpt4 = Target.parse("openai/gpt-4");
                try (Permit p = s.limiter.acquire(gpt4, Estimate.requestOnly(), Duration.ofSeconds(5))) {
                    wait.until(d -> d.findElement(row("openai/gpt-4")).getText().contains("requests 1 / 500 per 60s"));
                    wait.until(d -> d.findElement(row("openai/gpt-4")).findElement(By.className("concurrency"))
                            .getText().startsWith("1 /"));
                }

                wait.until(d -> {
                    d.findElement(row("openai/gpt-4")).findElement(By.className("edit")).click();
                    return true;
                });
                WebElement limits = driver.findElement(By.id("edit-limits"));
                assertThat(limits.getAttribute("value")).isEqualTo("requests=500/60s");
                limits.clear();
                limits.sendKeys("requests=321/60s,tokens=40000/60s");
                WebElement max = driver.findElement(By.id("edit-max-concurrent"));
                max.clear();
                max.sendKeys("7");
                driver.findElement(By.id("edit-save")).click();

                wait.until(ExpectedConditions.attributeToBe(By.id("edit-status"), "class", "ok"));
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    LimitConfig c = s.limiter.admin().config(gpt4).orElseThrow();
                    assertThat(c.limits()).containsExactly(Limit.parse("requests=321/60s"), Limit.parse("tokens=40000/60s"));
                    assertThat(c.maxConcurrent()).isEqualTo(7);
                });
                wait.until(d -> d.findElement(row("openai/gpt-4")).getText().contains("requests 0 / 321 per 60s")
                        || d.findElement(row("openai/gpt-4")).getText().contains("requests 1 / 321 per 60s"));

                // A bad edit shows the server's problem and changes nothing.
                limits = driver.findElement(By.id("edit-limits"));
                limits.clear();
                limits.sendKeys("requests=0/60s");
                driver.findElement(By.id("edit-save")).click();
                wait.until(ExpectedConditions.attributeToBe(By.id("edit-status"), "class", "error"));
                assertThat(driver.findElement(By.id("edit-status")).getText()).contains("amount must be between 1");
                assertThat(s.limiter.admin().config(gpt4).orElseThrow().limits()).contains(Limit.parse("requests=321/60s"));

                // A provider 429 on a call the limiter admitted teaches the fleet a lower limit; the
                // table shows the effective amount, the configured one and why, and the margin.
                Target deepseek = Target.parse("deepseek/deepseek-chat");
                AtomicInteger attempts = new AtomicInteger();
                String answer = s.limiter.execute(deepseek, Estimate.requestOnly(), ctx -> {
                    if (attempts.incrementAndGet() == 1) {
                        throw new HttpStatusException(429);
                    }
                    return "ok";
                });
                assertThat(answer).isEqualTo("ok");
                wait.until(d -> d.findElement(row("deepseek/deepseek-chat")).getText()
                        .contains("(configured 100, learned from provider 429s)"));
                assertThat(driver.findElement(row("deepseek/deepseek-chat")).getText()).contains("margin 250 ms")
                        .containsPattern("requests [0-9]+ / 50 per 60s");
            } finally {
                driver.quit();
            }
        } finally {
            service.stop();
        }
    }

    private static By row(String target) {
        return By.cssSelector("tr[data-target='" + target + "']");
    }
}
