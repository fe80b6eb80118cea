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
import java.time.Duration;
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
 * Drives the dashboard in a real headless Chromium. Skipped, with the reason printed, when no
 * Chromium is on the PATH, and a failure then when {@value HeadlessChromium#REQUIRE_ENV} is set (CI).
 */
@Tag("browser")
@ExtendWith(HeadlessChromium.Extension.class)
@WithRedis
class DashboardTest {

    @Test
    void thePageShowsTheSeededTargetsLiveAndAnEditThroughTheFormChangesTheLimitInRedis(RedisProcess redis) throws Exception {
        try (TestServer s = TestServer.start(redis.uri())) {
            WebDriver driver = HeadlessChromium.onPath().start();
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

                // A model with slashes (provider first): created through the form, shown as one row, then edited.
                Target routed = Target.parse("openrouter/meta-llama/llama-3.3-70b-instruct");
                WebElement target = driver.findElement(By.id("edit-target"));
                target.clear();
                target.sendKeys(routed.toString());
                limits = driver.findElement(By.id("edit-limits"));
                limits.clear();
                limits.sendKeys("requests=12/10s");
                driver.findElement(By.id("edit-save")).click();
                wait.until(ExpectedConditions.attributeToBe(By.id("edit-status"), "class", "ok"));
                assertThat(s.limiter.admin().config(routed).orElseThrow().limits()).containsExactly(Limit.parse("requests=12/10s"));
                wait.until(d -> d.findElement(row(routed.toString())).getText().contains("requests 0 / 12 per 10s"));
                wait.until(d -> {
                    d.findElement(row(routed.toString())).findElement(By.className("edit")).click();
                    return true;
                });
                assertThat(driver.findElement(By.id("edit-target")).getAttribute("value")).isEqualTo(routed.toString());
                limits = driver.findElement(By.id("edit-limits"));
                limits.clear();
                limits.sendKeys("requests=13/10s");
                driver.findElement(By.id("edit-save")).click();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                        s.limiter.admin().config(routed).orElseThrow().limits()).containsExactly(Limit.parse("requests=13/10s")));
                assertThat(s.limiter.admin().config(new Target("openrouter", "meta-llama"))).isEmpty();

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
                // The row's text is read once, from the same rendering the wait found.
                String learned = wait.until(d -> {
                    String text = d.findElement(row("deepseek/deepseek-chat")).getText();
                    return text.contains("(configured 100, learned from provider 429s)") ? text : null;
                });
                assertThat(learned).contains("margin 250 ms").containsPattern("requests [0-9]+ / 50 per 60s");
            } finally {
                driver.quit();
            }
        }
    }

    private static By row(String target) {
        return By.cssSelector("tr[data-target='" + target + "']");
    }
}
