package io.llmlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.LimitConfig;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Usage;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard shows spend today and this month, per target, per tenant and in all, and each
 * target's budgets.
 */
@Tag("browser")
@ExtendWith(HeadlessChromium.Extension.class)
@WithRedis
class DashboardCostTest {

    @Test
    void spendAndBudgetsShowLiveAndAnEditKeepsTheBudgets(RedisProcess redis) throws Exception {
        try (TestServer s = TestServer.start(redis.uri())) {
            Target t = Target.parse("mock/dash-cost");
            s.send("PUT", "/api/v1/targets/mock/dash-cost", "{\"limits\": \"requests=100/1m,usd=20/day\", "
                    + "\"prices\": {\"input_mtok\": 2.5, \"output_mtok\": 10}}");
            WebDriver driver = HeadlessChromium.onPath().start();
            try {
                WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
                wait.ignoring(StaleElementReferenceException.class);
                driver.get(s.server.url() + "/");
                driver.findElement(By.id("token")).sendKeys(TestServer.TOKEN);
                driver.findElement(By.id("connect")).click();
                wait.until(ExpectedConditions.presenceOfElementLocated(row(t.toString())));

                // 100000 in at $2.50/M and 100000 out at $10/M: $1.25.
                try (Permit p = s.limiter.acquire(t, Estimate.of(100_000, 200_000), Duration.ofSeconds(5))) {
                    p.complete(Usage.of(100_000, 100_000));
                }

                // The cell's text is read once, from the same rendering the wait found.
                String cell = wait.until(d -> {
                    String text = d.findElement(row(t.toString())).findElement(By.className("cost")).getText();
                    return text.contains("today $1.25") ? text : null;
                });
                assertThat(cell).contains("month $1.25").contains("usd=20/day: $18.75 left");
                wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("spend-today"), "$1.25"));
                assertThat(driver.findElement(By.id("spend-targets")).getText()).contains("mock/dash-cost: $1.25 today");
                // Calls that name no tenant spend as tenant default, counted with the client's next stats flush.
                wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("spend-tenants"),
                        "default on mock/dash-cost: $1.25 today, $1.25 this month"));

                // The edit form carries the budgets with the limits: saving keeps them.
                wait.until(d -> {
                    d.findElement(row(t.toString())).findElement(By.className("edit")).click();
                    return true;
                });
                assertThat(driver.findElement(By.id("edit-limits")).getAttribute("value")).contains("usd=20/day");
                driver.findElement(By.id("edit-save")).click();
                wait.until(ExpectedConditions.attributeToBe(By.id("edit-status"), "class", "ok"));
                LimitConfig after = s.limiter.admin().config(t).orElseThrow();
                assertThat(after.budgets()).extracting(Object::toString).containsExactly("usd=20/day");
            } finally {
                driver.quit();
            }
        }
    }

    private static By row(String target) {
        return By.cssSelector("tr[data-target='" + target + "']");
    }
}
