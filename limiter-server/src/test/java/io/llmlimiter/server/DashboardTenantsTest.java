package io.llmlimiter.server;

import static io.llmlimiter.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.llmlimiter.client.Estimate;
import io.llmlimiter.client.Permit;
import io.llmlimiter.client.Target;
import io.llmlimiter.client.Tenant;
import io.llmlimiter.client.Usage;
import io.llmlimiter.testing.RedisProcess;
import io.llmlimiter.testing.WithRedis;
import java.net.http.HttpResponse;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
 * The dashboard shows the tenants of a target that shares its budget fairly (their admissions,
 * waiting callers and spend) and its waits by priority class, as the tenants route answers, live,
 * and the tenants that spent most as the stats answer; a target without fair share shows no tenants
 * and its tenants are never asked for.
 */
@Tag("browser")
@ExtendWith(HeadlessChromium.Extension.class)
@WithRedis
class DashboardTenantsTest {

    private static final String PATH = "/api/v1/targets/mock/dash-tenants";

    @Test
    void aFairShareTargetShowsItsTenantsAsTheApiAnswersThem(RedisProcess redis) throws Exception {
        try (TestServer s = TestServer.start(redis.uri())) {
            Target t = Target.parse("mock/dash-tenants");
            HttpResponse<String> put = s.send("PUT", PATH, "{\"limits\": \"requests=100/60s\", \"max_concurrent\": 1, "
                    + "\"prices\": {\"input_mtok\": 2.5, \"output_mtok\": 10}, "
                    + "\"fair_share\": {\"tenants\": {\"team-a\": {\"weight\": 3}, \"team-b\": {\"weight\": 1}}}}");
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);

            // team-a: 3 calls of 400 tokens, the last one still in flight; team-b: 2 of 300, and a third
            // that waits for the one call allowed at a time.
            Tenant a = Tenant.of("team-a");
            Tenant b = Tenant.of("team-b");
            s.limiter.acquire(t, a, Estimate.tokens(400), Duration.ofSeconds(5)).close();
            s.limiter.acquire(t, a, Estimate.tokens(400), Duration.ofSeconds(5)).close();
            s.limiter.acquire(t, b, Estimate.tokens(300), Duration.ofSeconds(5)).close();
            s.limiter.acquire(t, b, Estimate.tokens(300), Duration.ofSeconds(5)).close();
            Permit held = s.limiter.acquire(t, a, Estimate.tokens(400), Duration.ofSeconds(5));
            CompletableFuture<Permit> waiting = s.limiter.acquireAsync(t, b, Estimate.tokens(300), Duration.ofSeconds(60));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(json(s.get(PATH + "/tenants")).get("tenants").findValues("waiting"))
                            .extracting(JsonNode::asLong).contains(1L));

            WebDriver driver = HeadlessChromium.onPath().start();
            try {
                WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
                wait.ignoring(StaleElementReferenceException.class);
                driver.get(s.server.url() + "/");
                ((JavascriptExecutor) driver).executeScript("performance.setResourceTimingBufferSize(100000)");
                driver.findElement(By.id("token")).sendKeys(TestServer.TOKEN);
                driver.findElement(By.id("connect")).click();
                wait.until(ExpectedConditions.presenceOfElementLocated(row(t.toString())));
                wait.until(ExpectedConditions.presenceOfElementLocated(row("openai/gpt-4")));
                assertThat(count(driver, "tr[data-target='mock/dash-tenants'] .fair-share")).isEqualTo(1);
                assertThat(count(driver, "tr[data-target='openai/gpt-4'] .fair-share")).isZero();

                // A target without fair share: its detail has no tenants.
                openDetail(wait, "openai/gpt-4");
                wait.until(d -> !d.findElements(By.cssSelector("#detail-limits tr[data-resource]")).isEmpty()
                        && d.findElement(By.id("detail-config")).getText().contains("gpt-4"));
                assertThat(driver.findElement(By.id("detail-tenants")).isDisplayed()).isFalse();

                openDetail(wait, t.toString());
                wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#tenants tr[data-tenant]")));
                JsonNode answer = json(s.get(PATH + "/tenants"));
                assertThat(answer.get("fair_share").asBoolean()).isTrue();
                assertThat(expected(answer)).containsExactly(
                        "team-a|3|weight 75.0%|tokens 66.7%|3|1200|0|$0.00|$0.00",
                        "team-b|1|weight 25.0%|tokens 33.3%|2|600|1|$0.00|$0.00");
                await().atMost(Duration.ofSeconds(20)).ignoreException(StaleElementReferenceException.class)
                        .untilAsserted(() -> assertThat(shown(driver)).isEqualTo(expected(answer)));
                // The bars are as long as the shares.
                assertThat(((JavascriptExecutor) driver).executeScript("return document.querySelector("
                        + "\"#tenants tr[data-tenant='team-a'] .bar.token-share > span\").style.width")).isEqualTo("66.7%");

                // Live: the call in flight completes with 100000 in and 100000 out, costing team-a $1.25 (at
                // $2.50/M in, $10/M out); the waiting one is admitted, completes with 40000 in and costs team-b
                // $0.10. Each tenant's tokens become the ones served: team-a 400 + 400 + 200000, team-b
                // 300 + 300 + 40000 (a call closed without its usage keeps its estimate). The table follows.
                held.complete(Usage.of(100_000, 100_000));
                held.close();
                try (Permit p = waiting.get(10, TimeUnit.SECONDS)) {
                    p.complete(Usage.of(40_000, 0));
                }
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                        assertThat(expected(json(s.get(PATH + "/tenants")))).containsExactly(
                                "team-a|3|weight 75.0%|tokens 83.2%|3|200800|0|$1.25|$1.25",
                                "team-b|1|weight 25.0%|tokens 16.8%|3|40600|0|$0.10|$0.10"));
                JsonNode after = json(s.get(PATH + "/tenants"));
                await().atMost(Duration.ofSeconds(20)).ignoreException(StaleElementReferenceException.class)
                        .untilAsserted(() -> assertThat(shown(driver)).isEqualTo(expected(after)));

                // Waits by priority class: all six admissions were interactive, one of them waited.
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                        assertThat(json(s.get(PATH + "/tenants")).at("/waits/interactive/count").asLong()).isEqualTo(6));
                JsonNode waits = json(s.get(PATH + "/tenants")).get("waits");
                assertThat(waits.get("interactive").get("max_ms").asDouble()).isPositive();
                assertThat(waits.get("batch").get("count").asLong()).isZero();
                assertThat(expectedWaits(waits).get(0)).startsWith("interactive|6|");
                assertThat(expectedWaits(waits).subList(1, 3)).containsExactly("batch|0|—|—", "background|0|—|—");
                await().atMost(Duration.ofSeconds(20)).ignoreException(StaleElementReferenceException.class)
                        .untilAsserted(() -> assertThat(shownWaits(driver)).isEqualTo(expectedWaits(waits)));

                // The tenants that spent most, over every target, in the stats' order.
                JsonNode top = json(s.get("/api/v1/stats")).get("tenants");
                List<String> spenders = new ArrayList<>();
                top.forEach(n -> spenders.add(n.get("tenant").asText() + " on " + n.get("target").asText() + ": "
                        + usd(n.get("cost").get("today_usd").decimalValue()) + " today, "
                        + usd(n.get("cost").get("month_usd").decimalValue()) + " this month"));
                assertThat(spenders).containsExactly("team-a on mock/dash-tenants: $1.25 today, $1.25 this month",
                        "team-b on mock/dash-tenants: $0.10 today, $0.10 this month");
                await().atMost(Duration.ofSeconds(20)).ignoreException(StaleElementReferenceException.class)
                        .untilAsserted(() -> assertThat(driver.findElements(By.cssSelector("#spend-tenants li")))
                                .extracting(WebElement::getText).isEqualTo(spenders));

                // Only the fair-share target's tenants were ever asked for.
                @SuppressWarnings("unchecked")
                List<String> asked = (List<String>) ((JavascriptExecutor) driver).executeScript(
                        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
                                + ".filter(function (n) { return n.indexOf('/tenants') >= 0; })");
                assertThat(asked).isNotEmpty().allSatisfy(u -> assertThat(u).endsWith(PATH + "/tenants"));
            } finally {
                driver.quit();
                waiting.cancel(true);
            }
        }
    }

    /** Counts matches in one script run: the tables are re-rendered while the test reads them. */
    private static long count(WebDriver driver, String css) {
        return (Long) ((JavascriptExecutor) driver).executeScript("return document.querySelectorAll(arguments[0]).length", css);
    }

    private static void openDetail(WebDriverWait wait, String target) {
        wait.until(d -> {
            d.findElement(row(target)).findElement(By.className("details")).click();
            return d.findElement(By.id("detail-target")).getText().equals(target);
        });
    }

    /** Each tenant of the route's answer as the table should show it, in the answer's order. */
    private static List<String> expected(JsonNode answer) {
        List<String> rows = new ArrayList<>();
        for (JsonNode n : answer.get("tenants")) {
            rows.add(String.join("|", n.get("tenant").asText(), number(n.get("weight").asDouble()),
                    "weight " + percent(n.get("weight_share").asDouble()), "tokens " + percent(n.get("token_share").asDouble()),
                    n.get("requests").asText(), n.get("tokens").asText(), n.get("waiting").asText(),
                    usd(n.at("/cost/today_usd").decimalValue()), usd(n.at("/cost/month_usd").decimalValue())));
        }
        return rows;
    }

    /** Each row of the dashboard's tenants table, in its order. */
    private static List<String> shown(WebDriver driver) {
        List<String> rows = new ArrayList<>();
        for (WebElement tr : driver.findElements(By.cssSelector("#tenants tr[data-tenant]"))) {
            rows.add(String.join("|", cell(tr, "td.tenant"), cell(tr, "td.weight"), cell(tr, ".weight-share .share-label"),
                    cell(tr, ".token-share .share-label"), cell(tr, "td.requests"), cell(tr, "td.tokens"),
                    cell(tr, "td.waiting"), cell(tr, "td.cost-today"), cell(tr, "td.cost-month")));
        }
        return rows;
    }

    /** Each priority class of the route's waits as the table should show it, in their natural order. */
    private static List<String> expectedWaits(JsonNode waits) {
        List<String> rows = new ArrayList<>();
        for (String p : List.of("interactive", "batch", "background")) {
            JsonNode w = waits.get(p);
            boolean any = w.get("count").asLong() > 0;
            rows.add(String.join("|", p, w.get("count").asText(), any ? fixed1(w.get("mean_ms").asDouble()) + " ms" : "—",
                    any ? fixed1(w.get("max_ms").asDouble()) + " ms" : "—"));
        }
        return rows;
    }

    /** Each row of the dashboard's waits-by-priority table, in its order. */
    private static List<String> shownWaits(WebDriver driver) {
        List<String> rows = new ArrayList<>();
        for (WebElement tr : driver.findElements(By.cssSelector("#tenant-waits tr[data-priority]"))) {
            rows.add(String.join("|", tr.getAttribute("data-priority"), cell(tr, "td.count"), cell(tr, "td.mean"),
                    cell(tr, "td.max")));
        }
        return rows;
    }

    /** Dollars as the dashboard writes them: to the cent, or to a millionth below a cent. */
    private static String usd(BigDecimal v) {
        int scale = v.signum() != 0 && v.abs().compareTo(new BigDecimal("0.01")) < 0 ? 6 : 2;
        return "$" + v.setScale(scale, RoundingMode.HALF_UP).toPlainString();
    }

    private static String cell(WebElement tr, String css) {
        return tr.findElement(By.cssSelector(css)).getText();
    }

    /** A number as JavaScript's String() writes it: no ".0" on a whole one. */
    private static String number(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private static String percent(double share) {
        return fixed1(share * 100) + "%";
    }

    /** A number to one decimal as JavaScript's toFixed(1) writes it: from its exact value, a tie rounded up. */
    private static String fixed1(double v) {
        return new BigDecimal(v).setScale(1, RoundingMode.HALF_UP).toPlainString();
    }

    private static By row(String target) {
        return By.cssSelector("tr[data-target='" + target + "']");
    }
}
