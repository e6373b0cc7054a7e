//! A second operator with the viewer role, in headless Chromium (issue #19): `admin`
//! changes a tariff in the page and the audit log records it; vera signs in with her own
//! login, the header names her, she reads that entry on the /audit page, tries a tariff
//! change at the provider and a top-up at processing through the pages as anyone would,
//! and each page says in Russian that her role may not do it — while the database shows
//! nothing changed and the audit log has no entry of hers.

use std::time::Duration;

use portals::role::Role;
use portals::server::db;
use serde_json::json;

use super::Browser;
use crate::helpers::{ADMIN_PASSWORD, TestApp, send};

/// What the pages say to a refused role (ui::staff::texts, Russian).
const REFUSED: &str =
    "Отказано: вашей роли это действие не разрешено. Обратитесь к администратору.";

/// A viewer login `vera` created by `admin`: its password.
async fn viewer(app: &TestApp) -> String {
    let (status, body) = send(
        app,
        reqwest::Method::POST,
        "/api/admin/v1/staff",
        ("admin", ADMIN_PASSWORD),
        Some(json!({"login": "vera", "role": "viewer"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["password"].as_str().unwrap().to_owned()
}

/// How many audit entries the participant holds besides vera's creation.
async fn audit_entries(app: &TestApp) -> i64 {
    let (n,): (i64,) = db::query_as("SELECT COUNT(*) FROM audit_log WHERE kind <> 'staff_created'")
        .fetch_one(app.db.as_ref().unwrap())
        .await
        .unwrap();
    n
}

/// Waits for the page to hydrate (the header's login comes from the server either way;
/// a confirmation panel opening on a click needs the script).
async fn the_header_names(browser: &Browser, text: &str) {
    assert!(
        browser.wait_for_text("#signed-in", text, || async {}).await,
        "the header says {:?}",
        browser.text("#signed-in").await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Replaces what an input holds with `text`, as typed.
async fn retype(browser: &Browser, css: &str, text: &str) {
    let input = browser.find(css).await.expect("the input");
    browser
        .call(
            reqwest::Method::POST,
            &format!("/element/{input}/clear"),
            json!({}),
        )
        .await;
    browser.type_into(css, text).await;
}

/// Whether `css` comes to say `text` within 30 s.
async fn says(browser: &Browser, css: &str, text: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if browser
            .text(css)
            .await
            .is_some_and(|shown| shown.contains(text))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn a_tariff_change_in_the_page_is_audited_and_a_viewer_reads_it_but_is_refused_changes() {
    // The provider: vera types a new price and saves.
    let provider = TestApp::spawn(Role::Provider).await;
    let vera = viewer(&provider).await;
    let price = || async {
        let (price,): (i64,) =
            db::query_as("SELECT unit_price FROM tariffs WHERE service = 'call'")
                .fetch_one(provider.db.as_ref().unwrap())
                .await
                .unwrap();
        price
    };

    // admin's change, made in the page, is in the audit log with its login.
    let admin = Browser::start().await;
    admin.open_as_admin(&provider, "/tariffs").await;
    admin.wait_for("#tariff-call").await;
    the_header_names(&admin, "Сотрудник: admin (Администратор)").await;
    retype(&admin, "#tariff-call", "2,75").await;
    admin.click("#main form button[type=submit]").await;
    crate::helpers::eventually("admin's tariff is saved", || async {
        match price().await {
            275 => Ok(()),
            other => Err(other.to_string()),
        }
    })
    .await;
    drop(admin);
    let before = price().await;
    let browser = Browser::start().await;
    browser.open_as(&provider, "vera", &vera, "/audit").await;
    browser
        .wait_for("#audit-log tr[data-kind=tariff_changed]")
        .await;
    let row = "#audit-log tr[data-kind=tariff_changed]";
    assert_eq!(
        browser
            .text(&format!("{row} td:nth-child(2)"))
            .await
            .as_deref(),
        Some("admin")
    );
    assert_eq!(
        browser
            .text(&format!("{row} td:nth-child(3)"))
            .await
            .as_deref(),
        Some("Тарифы изменены")
    );
    assert!(
        browser
            .text(&format!("{row} td:nth-child(6)"))
            .await
            .is_some_and(|after| after.contains("\"call\":\"2.75\"")),
        "the price after: {:?}",
        browser.text(&format!("{row} td:nth-child(6)")).await
    );
    browser.open_as(&provider, "vera", &vera, "/tariffs").await;
    browser.wait_for("#tariff-call").await;
    the_header_names(&browser, "Сотрудник: vera (Наблюдатель)").await;
    retype(&browser, "#tariff-call", "99,00").await;
    browser.click("#main form button[type=submit]").await;
    assert!(
        says(&browser, "#tariffs-failed", REFUSED).await,
        "the refusal in Russian: {:?}",
        browser.text("#tariffs-failed").await
    );
    assert_eq!(price().await, before, "the price stays");
    assert_ne!(before, 9_900);
    assert_eq!(audit_entries(&provider).await, 1, "admin's change alone");

    // Processing: vera picks the agent, types a top-up, asks and confirms.
    let processing = TestApp::spawn(Role::Processing).await;
    let (status, agent) = send(
        &processing,
        reqwest::Method::POST,
        "/api/admin/v1/agents",
        ("admin", ADMIN_PASSWORD),
        Some(json!({"name": "Терминалы", "fee": {"percent_bp": 100, "fixed": 0, "min": 0}})),
    )
    .await;
    assert_eq!(status, 201, "{agent}");
    let vera = viewer(&processing).await;
    let balance = || async {
        let (balance,): (i64,) =
            db::query_as("SELECT balance FROM ledger_accounts WHERE id = 'agent:1'")
                .fetch_one(processing.db.as_ref().unwrap())
                .await
                .unwrap();
        balance
    };
    browser.open_as(&processing, "vera", &vera, "/agents").await;
    browser.wait_for("#topup-amount").await;
    the_header_names(&browser, "Сотрудник: vera (Наблюдатель)").await;
    browser.type_into("#topup-amount", "10 000,00").await;
    browser.type_into("#topup-reference", "ПП-1").await;
    browser.ask_and_confirm("topup").await;
    assert!(
        says(&browser, "#topup-failed", REFUSED).await,
        "the refusal in Russian: {:?}",
        browser.text("#topup-failed").await
    );
    assert_eq!(balance().await, 0, "the deposit stays");
    let (topups,): (i64,) = db::query_as("SELECT COUNT(*) FROM topups")
        .fetch_one(processing.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(topups, 0);
    assert_eq!(
        audit_entries(&processing).await,
        1,
        "only admin's signing of the agent"
    );
}
