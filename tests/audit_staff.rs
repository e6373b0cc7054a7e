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

    // The export is what the page shows, in the page's language (its cookie), Russian
    // without one: the same columns and words, byte for byte.
    let quoted = |json: &Value| format!("\"{}\"", json.as_str().unwrap().replace('"', "\"\""));
    let at = entry["at"].as_str().unwrap()[..19].replace('T', " ");
    let (before_cell, after_cell) = (quoted(&entry["before"]), quoted(&entry["after"]));
    for (cookie, expected) in [
        (
            None,
            format!(
                "Время (UTC);Сотрудник;Изменение;Объект;Было;Стало\n\
                 {at};admin;Тарифы изменены;тарифы;{before_cell};{after_cell}\n"
            ),
        ),
        (
            Some("paymesh_lang=en"),
            format!(
                "Time (UTC);Staff;Change;Object;Before;After\n\
                 {at};admin;Tariff changed;tariffs;{before_cell};{after_cell}\n"
            ),
        ),
    ] {
        let mut request = app
            .client
            .get(app.url("/api/admin/v1/audit.csv?kind=tariff_changed"))
            .basic_auth(ADMIN.0, Some(ADMIN.1));
        if let Some(cookie) = cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        let csv = request.send().await.unwrap();
        assert_eq!(csv.status(), 200);
        assert!(
            csv.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let bytes = csv.bytes().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&bytes), expected, "{cookie:?}");
    }

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

/// The audit entries `query` selects, newest first.
async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, entries) = send(
        app,
        Method::GET,
        &format!("/api/admin/v1/audit{query}"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{entries}");
    entries.as_array().expect("a list of entries").clone()
}

/// The (login, kind, object) of every entry, oldest first.
async fn audit_trail(app: &TestApp) -> Vec<(String, String, String)> {
    let mut trail: Vec<(String, String, String)> = audit(app, "")
        .await
        .iter()
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap_or_default().to_owned();
            (text("login"), text("kind"), text("object"))
        })
        .collect();
    trail.reverse();
    trail
}

/// An entry's before or after, parsed.
fn state(entry: &Value, which: &str) -> Value {
    entry[which]
        .as_str()
        .map(|text| serde_json::from_str(text).expect("JSON state"))
        .unwrap_or(Value::Null)
}

/// The whole log as its CSV export: what a secret must never appear in.
async fn audit_csv(app: &TestApp) -> String {
    let csv = app
        .client
        .get(app.url("/api/admin/v1/audit.csv"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    csv.text().await.unwrap()
}

fn triple(login: &str, kind: &str, object: &str) -> (String, String, String) {
    (login.to_owned(), kind.to_owned(), object.to_owned())
}

/// Processing: every change to a provider contract (signed, terms, endpoint and
/// credentials, off and on), an agent contract (signed, suspended, resumed, fee, a new
/// password) and a top-up is one entry with the acting login; passwords appear only as
/// "issued"/"changed"; a repeated top-up and an unchanged status record nothing.
#[tokio::test]
async fn processing_audits_contracts_credentials_fees_and_top_ups_without_secrets() {
    let app = TestApp::spawn(Role::Processing).await;
    let anna = create_staff(&app, "anna", "administrator").await;
    let anna = ("anna", anna.as_str());
    let oleg = create_staff(&app, "oleg", "operator").await;
    let oleg = ("oleg", oleg.as_str());
    let provider_password = "provider-secret-1";
    let (status, provider) = send(
        &app,
        Method::POST,
        "/api/admin/v1/providers",
        anna,
        Some(json!({
            "name": "Megafon", "service_kind": "mobile", "endpoint_url": "http://127.0.0.1:9/osmp",
            "protocol": "osmp", "login": "processing-1", "password": provider_password,
            "fields": [{"name": "account", "label": "Номер", "regex": "9\\d{9}"}],
            "min_amount": 100, "max_amount": 1_500_000
        })),
    )
    .await;
    assert_eq!(status, 201, "{provider}");
    let new_password = "provider-secret-2";
    for (body, why) in [
        (
            json!({"endpoint_url": "http://127.0.0.1:10/osmp", "password": new_password}),
            "credentials",
        ),
        (json!({"max_amount": 1_000_000}), "terms"),
        (json!({"max_amount": 1_000_000}), "the same terms again"),
        (json!({"active": true}), "already on"),
    ] {
        let (status, body) = send(
            &app,
            Method::PATCH,
            "/api/admin/v1/providers/1",
            ADMIN,
            Some(body),
        )
        .await;
        assert_eq!(status, 200, "{why}: {body}");
    }
    assert_eq!(
        send(
            &app,
            Method::DELETE,
            "/api/admin/v1/providers/1",
            ADMIN,
            None
        )
        .await
        .0,
        200
    );
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/admin/v1/providers/1",
        ADMIN,
        Some(json!({"active": true})),
    )
    .await;
    assert_eq!(status, 200);

    let (status, agent) = send(
        &app,
        Method::POST,
        "/api/admin/v1/agents",
        ADMIN,
        Some(json!({"name": "Kiosks", "fee": {"percent_bp": 100, "fixed": 0, "min": 0}})),
    )
    .await;
    assert_eq!(status, 201, "{agent}");
    for body in [
        json!({"status": "suspended"}),
        json!({"status": "suspended"}),
        json!({"status": "active"}),
        json!({"fee": {"percent_bp": 150, "fixed": 1000, "min": 0, "max": null}}),
    ] {
        let (status, answer) = send(
            &app,
            Method::PATCH,
            "/api/admin/v1/agents/1",
            ADMIN,
            Some(body),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, rotated) = send(
        &app,
        Method::POST,
        "/api/admin/v1/agents/1/credentials",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    for _ in 0..2 {
        let (status, body) = send(
            &app,
            Method::POST,
            "/api/admin/v1/agents/1/topups",
            oleg,
            Some(json!({"amount": 500_000, "reference": "PP-1"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    assert_eq!(
        audit_trail(&app).await,
        [
            triple("admin", "staff_created", "staff anna"),
            triple("admin", "staff_created", "staff oleg"),
            triple("anna", "contract_created", "provider 1"),
            triple("admin", "credentials_changed", "provider 1"),
            triple("admin", "contract_changed", "provider 1"),
            triple("admin", "contract_suspended", "provider 1"),
            triple("admin", "contract_resumed", "provider 1"),
            triple("admin", "contract_created", "agent 1"),
            triple("admin", "contract_suspended", "agent 1"),
            triple("admin", "contract_resumed", "agent 1"),
            triple("admin", "fee_changed", "agent 1"),
            triple("admin", "credentials_rotated", "agent 1"),
            triple("oleg", "balance_top_up", "agent 1"),
        ]
    );
    let credentials = &audit(&app, "?kind=credentials_changed").await[0];
    assert_eq!(
        state(credentials, "before"),
        json!({"endpoint_url": "http://127.0.0.1:9/osmp", "login": "processing-1"})
    );
    assert_eq!(
        state(credentials, "after"),
        json!({"endpoint_url": "http://127.0.0.1:10/osmp", "login": "processing-1", "password": "changed"})
    );
    let terms = &audit(&app, "?kind=contract_changed").await[0];
    assert_eq!(state(terms, "before")["max_amount"], "15000.00");
    assert_eq!(state(terms, "after")["max_amount"], "10000.00");
    let fee = &audit(&app, "?kind=fee_changed").await[0];
    assert_eq!(state(fee, "before")["percent"], "1.00");
    assert_eq!(
        state(fee, "after"),
        json!({"percent": "1.50", "fixed": "10.00", "min": "0.00", "max": null})
    );
    let top_up = &audit(&app, "?kind=balance_top_up").await[0];
    assert_eq!(state(top_up, "before"), json!({"balance": "0.00"}));
    assert_eq!(
        state(top_up, "after"),
        json!({"balance": "5000.00", "amount": "5000.00", "reference": "PP-1"})
    );
    let csv = audit_csv(&app).await;
    for secret in [
        provider_password,
        new_password,
        agent["password"].as_str().unwrap(),
        rotated["password"].as_str().unwrap(),
    ] {
        assert!(!csv.contains(secret), "a secret in the audit log: {csv}");
    }
    assert!(
        csv.contains("issued"),
        "a new contract says its password was issued"
    );
}

/// The provider: its processing contracts (signed, suspended, resumed, fields, a new
/// password, terminated, re-opened), the payments switch and subscribers' contracts
/// (signed, changed, closed) are each one entry with the acting login, no password.
#[tokio::test]
async fn the_provider_audits_contracts_credentials_the_switch_and_subscribers_without_secrets() {
    let app = TestApp::spawn(Role::Provider).await;
    let oleg = create_staff(&app, "oleg", "operator").await;
    let oleg = ("oleg", oleg.as_str());
    let (status, contract) = send(
        &app,
        Method::POST,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        Some(json!({"processing_name": "Cyberplat", "protocol": "osmp"})),
    )
    .await;
    assert_eq!(status, 201, "{contract}");
    let mut secrets = vec![contract["password"].as_str().unwrap().to_owned()];
    for status_to in ["suspended", "suspended", "active"] {
        let (status, body) = send(
            &app,
            Method::PATCH,
            "/api/admin/v1/processing-contracts/1",
            ADMIN,
            Some(json!({"status": status_to})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = send(
        &app,
        Method::PUT,
        "/api/admin/v1/processing-contracts/1/fields",
        ADMIN,
        Some(json!({"fields": [
            {"name": "account", "label": "Номер телефона", "regex": "9\\d{9}"},
            {"name": "city", "label": "Город", "regex": "[А-Яа-я]{2,30}"}
        ]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, rotated) = send(
        &app,
        Method::POST,
        "/api/admin/v1/processing-contracts/1/credentials",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    secrets.push(rotated["password"].as_str().unwrap().to_owned());
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/admin/v1/processing-contracts/1",
        ADMIN,
        Some(json!({"status": "closed"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, reopened) = send(
        &app,
        Method::POST,
        "/api/admin/v1/processing-contracts/1/reopen",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 201, "{reopened}");
    secrets.push(reopened["password"].as_str().unwrap().to_owned());
    for payments in ["paused", "paused", "open"] {
        let (status, body) = send(
            &app,
            Method::PUT,
            "/api/admin/v1/settings",
            ADMIN,
            Some(json!({"payments": payments})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, subscriber) = send(
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
    assert_eq!(status, 201, "{subscriber}");
    secrets.push(subscriber["password"].as_str().unwrap().to_owned());
    let account = subscriber["account"].as_str().unwrap();
    let path = format!("/api/admin/v1/subscribers/{account}");
    for body in [
        json!({"email": "p.petrov@example.ru"}),
        json!({"email": "p.petrov@example.ru"}),
    ] {
        let (status, answer) = send(&app, Method::PATCH, &path, oleg, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
    }
    assert_eq!(send(&app, Method::DELETE, &path, oleg, None).await.0, 200);

    let subscriber_object = format!("subscriber {account}");
    assert_eq!(
        audit_trail(&app).await,
        [
            triple("admin", "staff_created", "staff oleg"),
            triple("admin", "contract_created", "processing contract 1"),
            triple("admin", "contract_suspended", "processing contract 1"),
            triple("admin", "contract_resumed", "processing contract 1"),
            triple("admin", "contract_changed", "processing contract 1"),
            triple("admin", "credentials_rotated", "processing contract 1"),
            triple("admin", "contract_terminated", "processing contract 1"),
            triple("admin", "contract_reopened", "processing contract 1"),
            triple("admin", "setting_changed", "payments switch"),
            triple("admin", "setting_changed", "payments switch"),
            triple("oleg", "contract_created", &subscriber_object),
            triple("oleg", "contract_changed", &subscriber_object),
            triple("oleg", "contract_terminated", &subscriber_object),
        ]
    );
    let fields = &audit(&app, "?kind=contract_changed&object=processing").await[0];
    assert_eq!(
        state(fields, "before")["fields"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(state(fields, "after")["fields"][1]["name"], "city");
    let switch = &audit(&app, "?kind=setting_changed").await[1];
    assert_eq!(state(switch, "before"), json!({"payments": "open"}));
    assert_eq!(state(switch, "after"), json!({"payments": "paused"}));
    let changed = &audit(&app, "?kind=contract_changed&object=subscriber").await[0];
    assert_eq!(state(changed, "before")["email"], "petrov@example.ru");
    assert_eq!(state(changed, "after")["email"], "p.petrov@example.ru");
    let reopened_entry = &audit(&app, "?kind=contract_reopened").await[0];
    assert_eq!(state(reopened_entry, "after")["password"], "issued");
    let csv = audit_csv(&app).await;
    for secret in &secrets {
        assert!(
            !csv.contains(secret.as_str()),
            "a secret in the audit log: {csv}"
        );
    }
}

/// The agent: unresolved cash refunded and written off, a collection of the cash box and
/// the customers' fee are each one entry with the acting login.
#[tokio::test]
async fn the_agent_audits_unresolved_cash_collections_and_its_fee() {
    let t = crate::agent::Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let app = &t.agent;
    let oleg = create_staff(app, "oleg", "operator").await;
    let oleg = ("oleg", oleg.as_str());
    for event_id in ["lonely-1", "lonely-2"] {
        let (status, bill) = t
            .terminal(
                Method::POST,
                "/api/terminal/v1/bills",
                Some(json!({"event_id": event_id, "amount": 10_000, "session_id": null})),
            )
            .await;
        assert_eq!(status, 200, "{bill}");
    }
    let (_, claims) = send(
        app,
        Method::GET,
        "/api/admin/v1/unresolved-cash",
        ADMIN,
        None,
    )
    .await;
    let codes: Vec<String> = claims
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["claim_code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 2, "{claims}");
    let (status, body) = send(
        app,
        Method::POST,
        &format!("/api/admin/v1/unresolved-cash/{}/refund", codes[0]),
        oleg,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..2 {
        let (status, body) = send(
            app,
            Method::POST,
            &format!("/api/admin/v1/unresolved-cash/{}/write-off", codes[1]),
            oleg,
            Some(json!({"reason": "фальшивая купюра"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, collected) = send(
        app,
        Method::POST,
        "/api/admin/v1/encashments",
        oleg,
        Some(json!({"previous": null, "counted": 15_000, "note": "кассета №1"})),
    )
    .await;
    assert_eq!(status, 201, "{collected}");
    let (status, body) = send(
        app,
        Method::PUT,
        "/api/admin/v1/fee",
        ADMIN,
        Some(json!({"percent_bp": 250, "fixed": 0, "min": 1000, "max": null})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let trail = audit_trail(app).await;
    let encashment = format!("encashment {}", collected["encashment_id"]);
    assert_eq!(
        trail,
        [
            triple("admin", "contract_created", "processing contract"),
            triple("admin", "staff_created", "staff oleg"),
            triple(
                "oleg",
                "cash_refunded",
                &format!("unresolved cash {}", codes[0])
            ),
            triple(
                "oleg",
                "cash_written_off",
                &format!("unresolved cash {}", codes[1])
            ),
            triple("oleg", "cash_collected", &encashment),
            triple("admin", "fee_changed", "customer fee"),
        ]
    );
    let written_off = &audit(app, "?kind=cash_written_off").await[0];
    assert_eq!(
        state(written_off, "after"),
        json!({"cash": "100.00", "resolution": "written_off", "reason": "фальшивая купюра"})
    );
    let collection = &audit(app, "?kind=cash_collected").await[0];
    assert_eq!(
        state(collection, "before"),
        json!({"bills": 2, "in_box": "200.00"})
    );
    assert_eq!(state(collection, "after")["discrepancy"], "-50.00");
    let fee = &audit(app, "?kind=fee_changed").await[0];
    assert_eq!(state(fee, "after")["percent"], "2.50");
    // The contract with processing, saved when the terminal started: its password is
    // only said to be there.
    let contract = &audit(app, "?kind=contract_created").await[0];
    assert_eq!(state(contract, "after")["password"], "issued");
    let (_, saved) = send(app, Method::GET, "/api/admin/v1/contract", ADMIN, None).await;
    assert_eq!(state(contract, "after")["login"], saved["login"], "{saved}");
    assert!(saved["login"].is_string(), "{saved}");

    // Processing rotates the agent's password; the agent's operator saves the new one:
    // `credentials_changed`, the password only as "changed".
    let (status, rotated) = send(
        &t.net.processing,
        Method::POST,
        &format!("/api/admin/v1/agents/{}/credentials", t.net.agent_id),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    let password = rotated["password"].as_str().unwrap();
    let mut contract = saved.clone();
    contract["password"] = password.into();
    let (status, body) = send(
        app,
        Method::PUT,
        "/api/admin/v1/contract",
        ADMIN,
        Some(contract),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let changed = &audit(app, "?kind=credentials_changed").await[0];
    assert_eq!(changed["object"], "processing contract");
    assert_eq!(state(changed, "after")["password"], "changed");
    assert_eq!(state(changed, "before")["login"], saved["login"]);
    assert!(state(changed, "before").get("password").is_none());
    assert!(
        !audit_csv(app).await.contains(password),
        "no secret in the log"
    );
}

/// Every operator portal's header names the login signed in, with its role — not a
/// fixed "admin".
#[tokio::test]
async fn the_header_names_the_signed_in_login_in_every_operator_portal() {
    for role in [Role::Processing, Role::Provider, Role::Agent] {
        let app = TestApp::spawn(role).await;
        let vera = create_staff(&app, "vera", "viewer").await;
        for ((login, password), named) in [
            (("vera", vera.as_str()), "Сотрудник: vera (Наблюдатель)"),
            (ADMIN, "Сотрудник: admin (Администратор)"),
        ] {
            let page = app
                .client
                .get(app.url("/audit"))
                .basic_auth(login, Some(password))
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), 200, "{role}");
            let html = page.text().await.unwrap();
            assert!(html.contains(named), "{role}: no «{named}» in the page");
            assert!(
                !html.contains("Оператор: admin"),
                "{role}: the old fixed header is back"
            );
        }
    }
}

/// Posts a page's form to a server function as `who`: the status and the JSON answer.
async fn submit_as(app: &TestApp, who: (&str, &str), endpoint: &str, form: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(endpoint))
        .basic_auth(who.0, Some(who.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Processing's form for a provider's endpoint and credentials: it asks first (nothing
/// changes unconfirmed), refuses a bad URL naming the field, keeps the password when left
/// empty, saves and audits without the secret; a viewer is refused by role.
#[tokio::test]
async fn processing_edits_a_providers_credentials_behind_a_confirmation() {
    let app = TestApp::spawn(Role::Processing).await;
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/admin/v1/providers",
        ADMIN,
        Some(json!({
            "name": "Megafon", "service_kind": "mobile", "endpoint_url": "http://127.0.0.1:9/osmp",
            "protocol": "osmp", "login": "processing-1", "password": "old-secret",
            "fields": [{"name": "account", "label": "Номер", "regex": "9\\d{9}"}],
            "min_amount": 100, "max_amount": 1_500_000
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let endpoint = "/ui/processing/provider-credentials";
    let provider = |app: &TestApp| {
        let pool = app.db.clone().expect("processing's database");
        async move {
            let row: (String, String, String) =
                db::query_as("SELECT endpoint_url, login, password FROM providers WHERE id = 1")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            row
        }
    };
    let original = provider(&app).await;
    let form = "id=1&endpoint_url=http%3A%2F%2F127.0.0.1%3A10%2Fosmp&login=processing-7&password=";
    let (status, answer) = submit_as(&app, ADMIN, endpoint, form).await;
    assert_eq!((status, answer), (200, json!("Unconfirmed")));
    assert_eq!(
        provider(&app).await,
        original,
        "nothing changes unconfirmed"
    );

    let vera = create_staff(&app, "vera", "viewer").await;
    let (status, answer) = submit_as(
        &app,
        ("vera", vera.as_str()),
        endpoint,
        &format!("{form}&confirm=yes"),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        answer,
        json!("ServerError|forbidden_role"),
        "the page's encoding"
    );
    assert_eq!(provider(&app).await, original);

    let (status, answer) = submit_as(
        &app,
        ADMIN,
        endpoint,
        "id=1&endpoint_url=ftp%3A%2F%2Fx&login=a%3Ab&password=&confirm=yes",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({"Refused": ["EndpointUrl", "Login"]}));
    assert_eq!(provider(&app).await, original);

    let (status, answer) = submit_as(&app, ADMIN, endpoint, &format!("{form}&confirm=yes")).await;
    assert_eq!((status, answer), (200, json!("Saved")));
    assert_eq!(
        provider(&app).await,
        (
            "http://127.0.0.1:10/osmp".to_owned(),
            "processing-7".to_owned(),
            "old-secret".to_owned()
        ),
        "an empty password field keeps the password"
    );
    let (status, answer) = submit_as(
        &app,
        ADMIN,
        endpoint,
        "id=1&endpoint_url=http%3A%2F%2F127.0.0.1%3A10%2Fosmp&login=processing-7&password=new-secret&confirm=yes",
    )
    .await;
    assert_eq!((status, answer), (200, json!("Saved")));
    assert_eq!(provider(&app).await.2, "new-secret");

    let entries = audit(&app, "?kind=credentials_changed").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(state(&entries[1], "after")["password"], "unchanged");
    assert_eq!(state(&entries[1], "after")["login"], "processing-7");
    assert_eq!(state(&entries[0], "after")["password"], "changed");
    assert_eq!(state(&entries[0], "before")["login"], "processing-7");
    let csv = audit_csv(&app).await;
    assert!(
        !csv.contains("old-secret") && !csv.contains("new-secret"),
        "{csv}"
    );
}

/// The provider's payments switch asks first: a change without `confirm=yes` is refused
/// and the switch stays; confirmed, it moves and is audited.
async fn switch(app: &TestApp) -> Value {
    send(app, Method::GET, "/api/admin/v1/settings", ADMIN, None)
        .await
        .1["payments"]
        .clone()
}

#[tokio::test]
async fn the_providers_payments_switch_asks_first() {
    let app = TestApp::spawn(Role::Provider).await;
    let endpoint = "/ui/provider/payments-switch";
    let (status, _) = submit_as(&app, ADMIN, endpoint, "payments=closed").await;
    assert_ne!(status, 200, "unconfirmed: refused");
    assert_eq!(switch(&app).await, "open");
    let (status, answer) = submit_as(&app, ADMIN, endpoint, "payments=closed&confirm=yes").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(switch(&app).await, "closed");
    let entry = &audit(&app, "?kind=setting_changed").await[0];
    assert_eq!(state(entry, "after"), json!({"payments": "closed"}));
    let page = app
        .client
        .get(app.url("/processing-contracts"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"payments-switch-yes\""),
        "the switch's button asks first"
    );
}
