//! The provider's low-balance threshold typed on the dashboard in headless Chromium
//! (issue #19): an administrator types «5 000,00», saves, and the dashboard lists against
//! 5 000,00 ₽ — one audit entry says it; a viewer's dashboard has no such form.

use std::time::Duration;

use portals::role::Role;
use serde_json::{Value, json};

use super::Browser;
use crate::helpers::{ADMIN_PASSWORD, TestApp, send};

/// `data-kopecks` of the dashboard's threshold line, as the page shows it now.
async fn shown_threshold(browser: &Browser) -> Option<String> {
    browser
        .call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": "const e = document.getElementById('low-balance-threshold'); return e ? e.getAttribute('data-kopecks') : null;", "args": []}),
        )
        .await
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn an_administrator_types_a_russian_threshold_on_the_dashboard_and_it_shows() {
    let app = TestApp::spawn(Role::Provider).await;
    let admin = ("admin", ADMIN_PASSWORD);
    let browser = Browser::start().await;
    browser.open_as_admin(&app, "/").await;
    browser.wait_for("#threshold").await;
    assert_eq!(shown_threshold(&browser).await.as_deref(), Some("10000"));

    // A submit made while the page hydrates may be lost: type and save until it shows.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while shown_threshold(&browser).await.as_deref() != Some("500000") {
        assert!(
            std::time::Instant::now() < deadline,
            "the threshold never showed: {:?}",
            browser.text("#threshold-setting").await
        );
        if let Some(input) = browser.find("#threshold").await {
            browser
                .call(
                    reqwest::Method::POST,
                    &format!("/element/{input}/clear"),
                    json!({}),
                )
                .await;
            browser.type_into("#threshold", "5 000,00").await;
            browser.click("#save-threshold").await;
        }
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    assert!(
        browser
            .text("#low-balance-threshold")
            .await
            .is_some_and(|line| line.contains("5 000,00")),
        "{:?}",
        browser.text("#low-balance-threshold").await
    );
    let (status, saved) = send(
        &app,
        reqwest::Method::GET,
        "/api/admin/v1/settings/thresholds",
        admin,
        None,
    )
    .await;
    assert_eq!(
        (status, saved),
        (200, json!({"low_balance_threshold": 500_000}))
    );
    let (_, entries) = send(
        &app,
        reqwest::Method::GET,
        "/api/admin/v1/audit?kind=setting_changed",
        admin,
        None,
    )
    .await;
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let after: Value = serde_json::from_str(entries[0]["after"].as_str().unwrap()).unwrap();
    assert_eq!(after, json!({"low_balance_threshold": "5000.00"}));

    // A viewer reads the dashboard without the form.
    let (status, vera) = send(
        &app,
        reqwest::Method::POST,
        "/api/admin/v1/staff",
        admin,
        Some(json!({"login": "vera", "role": "viewer"})),
    )
    .await;
    assert_eq!(status, 201, "{vera}");
    let viewer = Browser::start().await;
    viewer
        .open_as(&app, "vera", vera["password"].as_str().unwrap(), "/")
        .await;
    viewer.wait_for("#low-balance-threshold").await;
    assert_eq!(shown_threshold(&viewer).await.as_deref(), Some("500000"));
    assert!(
        viewer.find("#threshold").await.is_none(),
        "no form for a viewer"
    );
}
