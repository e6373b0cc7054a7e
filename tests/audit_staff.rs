//! Issue #19: the append-only audit log and staff accounts with roles. Runs on SQLite and,
//! in the PostgreSQL pass (`PAYMESH_TEST_POSTGRES`), on PostgreSQL for the provider.

use portals::role::Role;
use portals::server::db;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp, send};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// A tariff change by the operator is one audit entry, with the operator's login, the
/// prices before and after, listed newest first, filtered by kind and exported as CSV;
/// the database refuses to change or delete it.
#[tokio::test]
async fn a_tariff_change_is_audited_with_its_login_and_before_and_after() {
    let app = TestApp::spawn(Role::Provider).await;
    let (status, before) = send(&app, Method::GET, "/api/admin/v1/tariffs", ADMIN, None).await;
    assert_eq!(status, 200, "{before}");
    let (status, body) = send(
        &app,
        Method::PUT,
        "/api/admin/v1/tariffs",
        ADMIN,
        Some(json!([{"service": "call", "unit_price": 275}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, entries) = send(
        &app,
        Method::GET,
        "/api/admin/v1/audit?kind=tariff_changed",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{entries}");
    let entries = entries.as_array().expect("a list of entries");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["login"], "admin");
    assert_eq!(entry["kind"], "tariff_changed");
    assert_eq!(entry["object"], "tariffs");
    let old: Value = serde_json::from_str(entry["before"].as_str().unwrap()).unwrap();
    let new: Value = serde_json::from_str(entry["after"].as_str().unwrap()).unwrap();
    let old_call = before
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["service"] == "call")
        .and_then(|t| t["unit_price"].as_i64())
        .unwrap();
    assert_ne!(old_call, 275);
    let roubles = format!("{}.{:02}", old_call / 100, old_call % 100);
    assert_eq!(old["call"], roubles.as_str(), "before holds the old price");
    assert_eq!(new["call"], "2.75", "after holds the new price");
    assert_eq!(new["sms"], old["sms"], "untouched prices stay");

    // Setting the same prices again changes nothing and records nothing.
    let (status, _) = send(
        &app,
        Method::PUT,
        "/api/admin/v1/tariffs",
        ADMIN,
        Some(json!([{"service": "call", "unit_price": 275}])),
    )
    .await;
    assert_eq!(status, 200);
    let (_, all) = send(&app, Method::GET, "/api/admin/v1/audit", ADMIN, None).await;
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    let (_, none) = send(
        &app,
        Method::GET,
        "/api/admin/v1/audit?kind=fee_changed",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(none, json!([]));
    let (status, bad) = send(
        &app,
        Method::GET,
        "/api/admin/v1/audit?kind=nonsense",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(
        (status, &bad["error"]["code"]),
        (422, &json!("validation_failed"))
    );

    let csv = app
        .client
        .get(app.url("/api/admin/v1/audit.csv?kind=tariff_changed"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id;at;login;kind;object;before;after");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].contains(";admin;tariff_changed;tariffs;"),
        "{text}"
    );

    // Append-only in the database itself, whatever code might try.
    let pool = app.db.as_ref().expect("the provider's database");
    for statement in [
        "UPDATE audit_log SET login = 'someone-else'",
        "DELETE FROM audit_log",
    ] {
        let refused = db::query(statement).execute(pool).await;
        assert!(refused.is_err(), "{statement} must be refused");
    }
    let (_, still) = send(&app, Method::GET, "/api/admin/v1/audit", ADMIN, None).await;
    assert_eq!(still[0]["login"], "admin");
}
