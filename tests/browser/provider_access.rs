//! Processing's «Адрес и доступ» on a provider's card, in headless Chromium: the operator
//! opens it, types the provider's new login and password, is asked what will happen, and
//! only «Да, сохранить» changes what processing sends — audited without the password.

use std::time::Duration;

use portals::role::Role;
use portals::server::db;
use serde_json::json;

use super::Browser;
use crate::helpers::{ADMIN_PASSWORD, TestApp, send};

async fn access(app: &TestApp) -> (String, String) {
    db::query_as("SELECT login, password FROM providers WHERE id = 1")
        .fetch_one(app.db.as_ref().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_operator_changes_a_providers_login_and_password_after_confirming() {
    let app = TestApp::spawn(Role::Processing).await;
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/admin/v1/providers",
        ("admin", ADMIN_PASSWORD),
        Some(json!({
            "name": "Megafon", "service_kind": "mobile", "endpoint_url": "http://127.0.0.1:9/osmp",
            "protocol": "osmp", "login": "processing-1", "password": "old-secret",
            "fields": [{"name": "account", "label": "Номер", "regex": "9\\d{9}"}],
            "min_amount": 100, "max_amount": 1_500_000
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let browser = Browser::start().await;
    browser.open_as_admin(&app, "/providers").await;
    browser.wait_for(".provider-credentials summary").await;
    // Opening the panel is plain HTML; the confirmation's panel needs the script.
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.click(".provider-credentials summary").await;
    let login = browser.find("#provider-1-login").await.expect("the login");
    browser
        .call(
            reqwest::Method::POST,
            &format!("/element/{login}/clear"),
            json!({}),
        )
        .await;
    browser.type_into("#provider-1-login", "processing-9").await;
    browser
        .type_into("#provider-1-password", "new-secret")
        .await;
    browser.click("#credentials-1-ask").await;
    assert!(browser.confirm_open("credentials-1").await, "it asks first");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        access(&app).await,
        ("processing-1".to_owned(), "old-secret".to_owned()),
        "asking changes nothing"
    );
    browser.ask_and_confirm("credentials-1").await;
    crate::helpers::eventually("the new credentials are saved", || async {
        match access(&app).await {
            (login, password) if login == "processing-9" && password == "new-secret" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // The page learns it from the answer, which leaves after the commit the database
    // already shows: on a busy machine it is drawn a moment later.
    let saved = "Сохранено. Следующие проверки и платежи пойдут с новыми данными.";
    crate::helpers::eventually("the page to say the credentials are saved", || async {
        match browser.text(".provider-credentials .ok").await {
            Some(text) if text == saved => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let (_, entries) = send(
        &app,
        reqwest::Method::GET,
        "/api/admin/v1/audit?kind=credentials_changed",
        ("admin", ADMIN_PASSWORD),
        None,
    )
    .await;
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    assert!(!entries.to_string().contains("new-secret"), "{entries}");
}
