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

/// Creates a staff login as `admin`: its password.
async fn create_staff(app: &TestApp, login: &str, role: &str) -> String {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/admin/v1/staff",
        ADMIN,
        Some(json!({"login": login, "role": role})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["role"], role);
    body["password"].as_str().unwrap().to_owned()
}

/// Staff roles: a viewer reads but every change is refused with `403 forbidden_role`
/// (API and the pages' server functions alike); an operator may sign a subscriber but
/// not change tariffs or manage staff; a second administrator's change is audited under
/// its own login; a disabled login stops working at once; creating and disabling staff
/// is audited.
#[tokio::test]
async fn a_viewer_is_refused_changes_and_each_role_does_what_its_row_allows() {
    let app = TestApp::spawn(Role::Provider).await;
    let vera = create_staff(&app, "vera", "viewer").await;
    let oleg = create_staff(&app, "oleg", "operator").await;
    let anna = create_staff(&app, "anna", "administrator").await;
    let vera = ("vera", vera.as_str());
    let oleg = ("oleg", oleg.as_str());
    let anna = ("anna", anna.as_str());
    for (login, why) in [("admin", "the password file's login"), ("vera", "taken")] {
        let (status, body) = send(
            &app,
            Method::POST,
            "/api/admin/v1/staff",
            ADMIN,
            Some(json!({"login": login, "role": "viewer"})),
        )
        .await;
        assert_eq!(status, 422, "{why}: {body}");
    }

    let prices = json!([{"service": "sms", "unit_price": 150}]);
    // The viewer reads pages and the API…
    for path in [
        "/api/admin/v1/tariffs",
        "/api/admin/v1/audit",
        "/api/admin/v1/staff",
    ] {
        assert_eq!(
            send(&app, Method::GET, path, vera, None).await.0,
            200,
            "{path}"
        );
    }
    let page = app
        .client
        .get(app.url("/tariffs"))
        .basic_auth(vera.0, Some(vera.1))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // …and changes nothing.
    let (status, body) = send(
        &app,
        Method::PUT,
        "/api/admin/v1/tariffs",
        vera,
        Some(prices.clone()),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden_role")),
        "{body}"
    );
    let refused = app
        .client
        .post(app.url("/ui/provider/set-tariffs"))
        .basic_auth(vera.0, Some(vera.1))
        .form(&[("call", "1.00"), ("internet", "1.00"), ("sms", "1.00")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "the page's server function too");
    let loaded = app
        .client
        .post(app.url("/ui/provider/tariffs"))
        .basic_auth(vera.0, Some(vera.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(
        loaded.status(),
        200,
        "a page's read-only server function is allowed"
    );

    // The operator (cashier) signs subscribers but sets no tariffs and manages no staff.
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/admin/v1/subscribers",
        oleg,
        Some(json!({
            "full_name": "Петров Пётр Петрович", "passport": "4510 654321",
            "email": "petrov@example.ru", "services": ["call"]
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(
        &app,
        Method::PUT,
        "/api/admin/v1/tariffs",
        oleg,
        Some(prices.clone()),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden_role"))
    );
    let (status, _) = send(
        &app,
        Method::POST,
        "/api/admin/v1/staff",
        oleg,
        Some(json!({"login": "mallory", "role": "administrator"})),
    )
    .await;
    assert_eq!(status, 403);

    // A second administrator's change is audited under its own login.
    let (status, body) = send(
        &app,
        Method::PUT,
        "/api/admin/v1/tariffs",
        anna,
        Some(prices),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, entries) = send(
        &app,
        Method::GET,
        "/api/admin/v1/audit?kind=tariff_changed",
        vera,
        None,
    )
    .await;
    assert_eq!(entries[0]["login"], "anna", "{entries}");

    // Disabling works at once and is audited with who did it.
    let (status, body) = send(
        &app,
        Method::DELETE,
        "/api/admin/v1/staff/vera",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["disabled_at"].is_string(), "{body}");
    assert_eq!(
        send(&app, Method::GET, "/api/admin/v1/tariffs", vera, None)
            .await
            .0,
        401
    );
    let (_, entries) = send(
        &app,
        Method::GET,
        "/api/admin/v1/audit?login=admin",
        ADMIN,
        None,
    )
    .await;
    let kinds: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "staff_disabled",
            "staff_created",
            "staff_created",
            "staff_created"
        ],
        "newest first"
    );
    let (_, staff) = send(&app, Method::GET, "/api/admin/v1/staff", ADMIN, None).await;
    let listed: Vec<(&str, &str)> = staff
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["login"].as_str().unwrap(), s["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("anna", "administrator"),
            ("oleg", "operator"),
            ("vera", "viewer")
        ],
        "enabled first, then disabled"
    );
}
