//! The dashboards' thresholds as an administrator sets them (issue #19): processing's low
//! agent deposit and the provider's low subscriber balance, through
//! `PUT /api/admin/v1/settings/thresholds` and through the dashboard's form (a Russian
//! amount, `5 000,00`). Saved with an audit entry (before and after), refused to a viewer,
//! bad input refused with nothing written, and shown on the dashboard.

use portals::role::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp, send};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);
const PATH: &str = "/api/admin/v1/settings/thresholds";

/// One participant's threshold: its role, key, default, the dashboard element showing it
/// and the page's server function.
struct Case {
    role: Role,
    key: &'static str,
    object: &'static str,
    default: i64,
    shown: &'static str,
    endpoint: &'static str,
}

const CASES: [Case; 2] = [
    Case {
        role: Role::Processing,
        key: "low_deposit_threshold",
        object: "low deposit threshold",
        default: 500_000,
        shown: r#"id="low-deposit-threshold""#,
        endpoint: "/ui/processing/save-threshold",
    },
    Case {
        role: Role::Provider,
        key: "low_balance_threshold",
        object: "low balance threshold",
        default: 10_000,
        shown: r#"id="low-balance-threshold""#,
        endpoint: "/ui/provider/save-threshold",
    },
];

async fn create_viewer(app: &TestApp) -> String {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/admin/v1/staff",
        ADMIN,
        Some(json!({"login": "vera", "role": "viewer"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["password"].as_str().unwrap().to_owned()
}

async fn threshold(app: &TestApp, case: &Case) -> i64 {
    let (status, body) = send(app, Method::GET, PATH, ADMIN, None).await;
    assert_eq!(status, 200, "{body}");
    body[case.key].as_i64().expect("kopecks")
}

async fn setting_entries(app: &TestApp) -> Vec<Value> {
    let (status, entries) = send(
        app,
        Method::GET,
        "/api/admin/v1/audit?kind=setting_changed",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{entries}");
    entries.as_array().unwrap().clone()
}

fn state(entry: &Value, which: &str) -> Value {
    serde_json::from_str(entry[which].as_str().unwrap()).unwrap()
}

/// The `data-kopecks` of the dashboard element that shows the threshold.
async fn shown_on_dashboard(app: &TestApp, case: &Case) -> i64 {
    let html = app
        .client
        .get(app.url("/"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html
        .find(case.shown)
        .expect("the threshold on the dashboard");
    let tag = &html[html[..at].rfind('<').unwrap()..at + html[at..].find('>').unwrap()];
    let value = tag
        .split("data-kopecks=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("data-kopecks");
    value.parse().unwrap()
}

async fn submit(app: &TestApp, who: (&str, &str), endpoint: &str, typed: &str) -> (u16, String) {
    let response = app
        .client
        .post(app.url(endpoint))
        .basic_auth(who.0, Some(who.1))
        .form(&[("threshold", typed)])
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn an_administrator_sets_each_dashboards_threshold_audited_and_a_viewer_cannot() {
    for case in &CASES {
        let app = TestApp::spawn(case.role).await;
        let who = format!("{:?}", case.role);
        assert_eq!(threshold(&app, case).await, case.default, "{who}");
        let vera = create_viewer(&app).await;

        // A viewer is refused, through the API and the page's server function alike.
        let (status, body) = send(
            &app,
            Method::PUT,
            PATH,
            ("vera", &vera),
            Some(json!({ case.key: 750_050 })),
        )
        .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (403, &json!("forbidden_role")),
            "{who}"
        );
        let (status, _) = submit(&app, ("vera", &vera), case.endpoint, "7 500,50").await;
        assert_eq!(status, 403, "{who}");

        // Bad input: 422 naming the field, nothing written.
        for bad in [
            json!({ case.key: -1 }),
            json!({ case.key: 1_000_000_001 }),
            json!({ case.key: "5000" }),
            json!({ case.key: 12.5 }),
            json!({}),
        ] {
            let (status, body) = send(&app, Method::PUT, PATH, ADMIN, Some(bad.clone())).await;
            assert_eq!(status, 422, "{who} {bad}: {body}");
            assert_eq!(body["error"]["code"], "validation_failed");
            assert!(body["error"]["fields"][case.key].is_string(), "{body}");
        }
        for typed in ["-5,00", "10 000 000,01", "5 000,001", "пять"] {
            let (status, said) = submit(&app, ADMIN, case.endpoint, typed).await;
            assert_eq!(status, 200, "{who} {typed}: {said}");
            assert_ne!(said, "null", "{who} {typed}: refused with a reason");
        }
        assert_eq!(threshold(&app, case).await, case.default, "{who}");
        assert!(setting_entries(&app).await.is_empty(), "{who}");
        assert_eq!(shown_on_dashboard(&app, case).await, case.default, "{who}");

        // Saved: the answer, the next read, the dashboard, one audit entry.
        let (status, body) = send(
            &app,
            Method::PUT,
            PATH,
            ADMIN,
            Some(json!({ case.key: 750_050 })),
        )
        .await;
        assert_eq!(
            (status, &body),
            (200, &json!({ case.key: 750_050 })),
            "{who}"
        );
        assert_eq!(threshold(&app, case).await, 750_050, "{who}");
        assert_eq!(shown_on_dashboard(&app, case).await, 750_050, "{who}");
        let entries = setting_entries(&app).await;
        assert_eq!(entries.len(), 1, "{who}: {entries:?}");
        assert_eq!(entries[0]["login"], "admin");
        assert_eq!(entries[0]["object"], case.object);
        let default = format!("{}.{:02}", case.default / 100, case.default % 100);
        assert_eq!(state(&entries[0], "before"), json!({ case.key: default }));
        assert_eq!(state(&entries[0], "after"), json!({ case.key: "7500.50" }));

        // The same again records nothing; the page's form takes a Russian amount.
        let (status, _) = send(
            &app,
            Method::PUT,
            PATH,
            ADMIN,
            Some(json!({ case.key: 750_050 })),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(setting_entries(&app).await.len(), 1, "{who}");
        let (status, said) = submit(&app, ADMIN, case.endpoint, "5 000,00").await;
        assert_eq!((status, said.as_str()), (200, "null"), "{who}");
        assert_eq!(threshold(&app, case).await, 500_000, "{who}");
        let entries = setting_entries(&app).await;
        assert_eq!(entries.len(), 2, "{who}");
        assert_eq!(state(&entries[0], "after"), json!({ case.key: "5000.00" }));
        assert_eq!(state(&entries[0], "before"), json!({ case.key: "7500.50" }));
    }
}
