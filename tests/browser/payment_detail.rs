//! Processing's payment detail in headless Chromium (issue #19): the operator opens the
//! payment list, clicks a paid payment's number and reads, in Russian, its status, sums,
//! the pay sent with the provider's answer and the ledger postings with equal totals;
//! vera, a viewer, opens a payment waiting for its provider, asks to send it now,
//! confirms, and is told her role may not — the payment still waits, nothing is audited.

use std::time::Duration;

use super::{Browser, kopecks_in};
use crate::helpers::eventually;
use crate::payment_detail::staff;
use crate::processing::{Network, fee_of};

/// What the pages say to a refused role (ui::staff::texts, Russian).
const REFUSED: &str =
    "Отказано: вашей роли это действие не разрешено. Обратитесь к администратору.";

/// Waits until `css` holds `text` (30 s at most) and says whether it came to.
async fn shows(browser: &Browser, css: &str, text: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if browser.text(css).await.is_some_and(|t| t.contains(text)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn the_list_opens_a_payments_detail_in_russian_and_a_viewer_is_refused_retry_now() {
    // A long backoff: the waiting payment stays pending for the whole test.
    let n = Network::start_with(Duration::from_secs(1), |s| {
        s.retry_delay_max = Some(Duration::from_secs(3_600));
    })
    .await;
    n.top_up(100_000, "PP-1").await;
    let (_, paid) = n.pay("T-1", 50_000).await;
    assert_eq!(paid["status"], "completed", "{paid}");
    let paid_id = paid["payment_id"].as_i64().unwrap();
    n.proxy.break_link();
    let (_, waiting) = n.pay("T-2", 10_000).await;
    assert_eq!(waiting["status"], "pending", "{waiting}");
    let waiting_id = waiting["payment_id"].as_i64().unwrap();

    let browser = Browser::start().await;
    browser.open_as_admin(&n.processing, "/payments").await;
    let link = format!("#payments a[href='/payments/{paid_id}']");
    browser.wait_for(&link).await;
    browser.click(&link).await;
    browser.wait_for("#payment-calls").await;
    assert!(
        shows(&browser, "h1", &format!("Платёж № {paid_id}")).await,
        "{:?}",
        browser.text("h1").await
    );
    assert_eq!(
        browser.text("#payment-status").await.as_deref(),
        Some("проведён")
    );
    let amount = browser.text("#payment-amount").await.unwrap_or_default();
    assert!(
        amount.contains("500,00") && amount.ends_with('₽'),
        "{amount}"
    );
    assert_eq!(kopecks_in(&amount), 50_000);
    let fee = fee_of(50_000);
    assert_eq!(
        kopecks_in(&browser.text("#payment-fee").await.unwrap_or_default()),
        fee
    );
    // The one pay with the provider's answer, in Russian words.
    let calls = browser.text("#payment-calls").await.unwrap_or_default();
    for said in [
        "Попытка",
        "Отправлено",
        "Ответ поставщика",
        "Платёж",
        "Зачислено (0)",
    ] {
        assert!(calls.contains(said), "{said:?} in {calls}");
    }
    assert!(
        browser
            .find("#payment-calls tbody tr[data-attempt='1'][data-result='0']")
            .await
            .is_some()
    );
    // The postings: three, debit and credit totals equal amount + fee.
    let postings = browser.text("#payment-postings").await.unwrap_or_default();
    for said in [
        "Счёт",
        "Дебет",
        "Кредит",
        "Итого",
        "аванс агента",
        "доход от комиссий",
    ] {
        assert!(postings.contains(said), "{said:?} in {postings}");
    }
    for account in [
        format!("agent:{}", n.agent_id),
        format!("provider:{}", n.provider_id),
        "fees".to_owned(),
    ] {
        assert!(
            browser
                .find(&format!("#payment-postings tr[data-account='{account}']"))
                .await
                .is_some(),
            "{account}"
        );
    }
    let totals: Vec<i64> = {
        let mut out = Vec::new();
        for cell in [2, 3] {
            let text = browser
                .text(&format!("#postings-total td:nth-child({cell})"))
                .await
                .unwrap_or_default();
            out.push(kopecks_in(&text));
        }
        out
    };
    assert_eq!(totals, [50_000 + fee, 50_000 + fee]);
    assert_eq!(
        browser.text("#postings-balance").await.as_deref(),
        Some("Дебет равен кредиту: проводка сбалансирована.")
    );
    assert!(
        browser.find("#payment-actions").await.is_none(),
        "settled: no action"
    );
    browser.screenshot("payment-detail.png").await;
    // The dashboard leads to the payment waiting longest.
    browser.open_as_admin(&n.processing, "/").await;
    let oldest = format!("#oldest-pending a[href='/payments/{waiting_id}']");
    browser.wait_for(&oldest).await;
    browser.click(&oldest).await;
    assert!(
        shows(&browser, "h1", &format!("Платёж № {waiting_id}")).await,
        "{:?}",
        browser.text("h1").await
    );
    drop(browser);

    // vera, a viewer, on the waiting payment.
    let vera = staff(&n, "vera", "viewer").await;
    let browser = Browser::start().await;
    browser
        .open_as(
            &n.processing,
            "vera",
            &vera,
            &format!("/payments/{waiting_id}"),
        )
        .await;
    browser.wait_for("#retry-ask").await;
    assert_eq!(
        browser.text("#payment-status").await.as_deref(),
        Some("в обработке")
    );
    // The calls so far: no answer came.
    assert!(
        shows(
            &browser,
            "#payment-calls",
            "Не отвечает или отвечает ошибкой"
        )
        .await,
        "{:?}",
        browser.text("#payment-calls").await
    );
    assert!(
        shows(&browser, "#postings-none", "Проводок нет").await,
        "nothing posted while pending"
    );
    // Hydrated before the click: the confirmation panel opens on a click only then.
    assert!(
        browser
            .wait_for_text("#signed-in", "Сотрудник: vera (Наблюдатель)", || async {})
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.ask_and_confirm("retry").await;
    assert!(
        shows(&browser, "#retry-said", REFUSED).await,
        "the refusal in Russian: {:?}",
        browser.text("#retry-said").await
    );
    let (status, audit): (String, i64) = eventually("the payment as it stands", || async {
        let row: (String, i64) = portals::server::db::query_as(
            "SELECT p.status, (SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE object = $2)
             FROM payments p WHERE p.id = $1",
        )
        .bind(waiting_id)
        .bind(format!("payment {waiting_id}"))
        .fetch_one(n.processing.db.as_ref().unwrap())
        .await
        .map_err(|e| e.to_string())?;
        Ok::<_, String>(row)
    })
    .await;
    assert_eq!((status.as_str(), audit), ("pending", 0));
}
