//! The agent's page of one payment in headless Chromium (issue #19): the payments list
//! links each row to it, and the page, served and hydrated, shows the sums in roubles, the
//! state in Russian and processing's answer in words.

use portals::role::Role;
use portals::server::clock;

use super::Browser;
use crate::helpers::TestApp;

/// One completed payment of 1 500,00 ₽ (fee 30,00) straight into the agent's database.
async fn a_completed_payment(app: &TestApp) {
    let pool = app.pool.as_ref().unwrap();
    let now = clock::now_text();
    sqlx::query(
        "INSERT INTO sessions (id, provider_id, provider_name, account, min_amount, max_amount, status, created_at)
         VALUES (1, 1, 'Мегафон', '9161234567', 100, 1500000, 'paid', $1)",
    )
    .bind(&now)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO payments (session_id, agent_txn_id, provider_id, provider_name, account, cash,
                               agent_fee, amount, accepted_at, status, result, message,
                               processing_payment_id, processing_fee, prv_txn, attempts,
                               created_at, updated_at)
         VALUES (1, 'T1-000042', 1, 'Мегафон', '9161234567', 153000, 3000, 150000, $1,
                 'completed', 0, 'OK', 77, 1500, 'P-9', 1, $1, $1)",
    )
    .bind(&now)
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_payments_list_opens_a_payments_page_in_russian() {
    let app = TestApp::spawn(Role::Agent).await;
    a_completed_payment(&app).await;
    let browser = Browser::start().await;

    browser.open_as_admin(&app, "/payments").await;
    browser.wait_for("a[href='/payments/T1-000042']").await;
    browser.click("a[href='/payments/T1-000042']").await;
    browser.wait_for("#payment-summary").await;
    let amount = browser.text("#payment-amount").await.unwrap_or_default();
    assert!(amount.contains("1 500,00"), "{amount}");
    let cash = browser.text("#payment-cash").await.unwrap_or_default();
    assert!(cash.contains("1 530,00"), "{cash}");
    let status = browser.text("#payment-status").await.unwrap_or_default();
    assert!(
        !status.is_empty() && !status.contains("completed"),
        "{status}"
    );
    let answer = browser.text("#payment-answer").await.unwrap_or_default();
    assert!(!answer.is_empty(), "processing's answer in words");
    assert!(
        browser.find("#back-to-payments").await.is_some(),
        "a way back to the list"
    );
}
