//! Payment fields at the terminal (issue #14): the kiosk API takes the provider's fields
//! after `account` as `extra`, checks them against the catalog before processing is asked,
//! sends them to processing with the check and with every attempt of the payment, and pays
//! a session only on a successful check of the same provider, account and fields.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use portals::role::Role;
use serde_json::{Value, json};

use crate::agent::Terminal;
use crate::helpers::{ADMIN_PASSWORD, TestApp, send};
use crate::processing::{Network, spawn_processing};
use portals::chaos::proxy::ChaosProxy;

/// The two fields of the kiosk tests: a mobile number shown through a mask, and a city
/// from a fixed list.
pub fn two_fields() -> Value {
    json!([
        {"name": "account", "label": "Номер телефона", "label_en": "Phone number", "regex": "9\\d{9}",
         "mask": "(9xx) xxx-xx-xx", "hint": "10 цифр, без восьмёрки"},
        {"name": "city", "label": "Город", "label_en": "City", "regex": "Пермь|Казань",
         "options": ["Пермь", "Казань"]}
    ])
}

/// A mobile number as the kiosk shows it: `+7 (916) 123-45-67`, the slots still to
/// type as `_` (a mobile provider's number field, whatever its own mask says).
pub fn masked_phone(typed: &str) -> String {
    use portals::agent::pages::phone_mask::PhoneMask;
    let field = shared::fields::Field::new("account", "Номер телефона", r"9\d{9}");
    let set = shared::fields::FieldSet::compile(std::slice::from_ref(&field)).unwrap();
    PhoneMask::for_field("mobile", &field, &set)
        .expect("a mobile number field")
        .shown(typed)
}

/// A network whose provider asks for `fields`: the provider's processing contract is
/// signed with them and processing's provider record carries them, so both sides agree.
pub async fn network_with_fields(fields: Value) -> Network {
    let provider = TestApp::spawn(Role::Provider).await;
    let admin = ("admin", ADMIN_PASSWORD);
    let (_, subscriber) = send(&provider, reqwest::Method::POST, "/api/admin/v1/subscribers", admin, Some(json!({
        "full_name": "Иванов Иван", "passport": "4510 123456", "email": "i@example.ru", "services": ["call"]
    })))
    .await;
    let (status, mut contract) = send(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        admin,
        Some(
            json!({"processing_name": "paymesh processing", "protocol": "osmp", "fields": fields}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{contract}");
    contract["fields"] = fields;
    let proxy = ChaosProxy::start(provider.addr)
        .await
        .expect("the proxy listens");
    let processing = spawn_processing(
        tempfile::tempdir().unwrap(),
        std::time::Duration::from_secs(1),
    )
    .await;
    Network::connect(provider, processing, proxy, &subscriber, &contract).await
}

/// Stands between the agent and processing and keeps the JSON body of every request the
/// agent sends, by path: what went over the wire, not what the agent meant to send.
#[derive(Clone)]
struct Recorder {
    upstream: SocketAddr,
    client: reqwest::Client,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

async fn relay(
    State(r): State<Recorder>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    // Recorded once answered, not on arrival: a test that counts the attempts made while the
    // link is broken must not count one still in flight, which the link's repair would let
    // through.
    let seen = serde_json::from_slice::<Value>(&body)
        .ok()
        .map(|json| (uri.path().to_owned(), json));
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = r
        .client
        .request(method, format!("http://{}{path}", r.upstream))
        .body(body);
    for name in ["authorization", "content-type", "if-none-match"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.clone());
        }
    }
    // Processing out of reach (the link broken): the agent sees a 502 and tries again.
    let answer = request.send().await;
    if let Some(entry) = seen {
        r.seen.lock().unwrap().push(entry);
    }
    let Ok(answer) = answer else {
        return (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::new());
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let mut out = HeaderMap::new();
    for name in ["content-type", "etag"] {
        if let Some(value) = answer.headers().get(name) {
            out.insert(name, value.clone());
        }
    }
    (status, out, answer.bytes().await.unwrap_or_default())
}

impl Recorder {
    /// Starts the recorder and points the terminal's contract at it.
    async fn between(t: &Terminal) -> Recorder {
        let recorder = Recorder {
            upstream: t.link.addr,
            client: crate::helpers::plain_client(),
            seen: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(relay)
            .with_state(recorder.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let (status, body) = t
            .admin(
                reqwest::Method::PUT,
                "/api/admin/v1/contract",
                Some(json!({
                    "processing_url": format!("http://{addr}/api/agent/v1"),
                    "contract_number": "AG-000001", "login": t.net.agent_login, "password": t.net.agent_password
                })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        recorder
    }

    fn bodies(&self, path: &str) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }
}

async fn sync(t: &Terminal) {
    let (status, body) = t
        .admin(reqwest::Method::POST, "/api/admin/v1/sync", None)
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn check(t: &Terminal, account: &str, extra: Value) -> (u16, Value) {
    t.kiosk(
        reqwest::Method::POST,
        "/api/kiosk/v1/checks",
        Some(json!({"provider_id": t.net.provider_id, "account": account, "extra": extra})),
    )
    .await
}

async fn open(t: &Terminal, account: &str, extra: Value) -> Value {
    let (status, session) = t
        .kiosk(
            reqwest::Method::POST,
            "/api/kiosk/v1/sessions",
            Some(json!({"provider_id": t.net.provider_id, "account": account, "extra": extra})),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    session
}

async fn pay(t: &Terminal, session: i64) -> (u16, Value) {
    t.kiosk(
        reqwest::Method::POST,
        &format!("/api/kiosk/v1/sessions/{session}/pay"),
        None,
    )
    .await
}

/// `SELECT COUNT(*)` of the agent's database.
async fn count(t: &Terminal, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn a_session_pays_only_on_a_check_of_the_same_fields_and_the_fields_travel_with_it() {
    let t = Terminal::start_on(network_with_fields(two_fields()).await, 1_000_000, false).await;
    let recorder = Recorder::between(&t).await;
    sync(&t).await;
    t.report_bill_table().await;
    let (_, state) = t
        .kiosk(reqwest::Method::GET, "/api/kiosk/v1/state", None)
        .await;
    assert_eq!(
        state["providers"][0]["fields"][1]["options"],
        json!(["Пермь", "Казань"]),
        "the catalog carries the full field definitions"
    );

    let account = t.net.account.clone();
    let (status, answer) = check(&t, &account, json!({"city": "Пермь"})).await;
    assert_eq!(
        (status, answer["result"].clone()),
        (200, json!(0)),
        "{answer}"
    );
    assert_eq!(
        recorder.bodies("/api/agent/v1/checks"),
        vec![
            json!({"provider_id": t.net.provider_id, "account": account, "extra": {"city": "Пермь"}})
        ],
        "the check carried the city to processing"
    );

    // The same account with another city was never checked: the session takes no cash…
    let other = open(&t, &account, json!({"city": "Казань"})).await;
    assert_eq!(other["extra"], json!({"city": "Казань"}));
    assert_eq!(
        other["acceptable"], 0,
        "no cash for a session that cannot pay"
    );
    let other = other["session_id"].as_i64().unwrap();
    // …and a bill that reaches it anyway (a forged report, say) does not make it payable.
    t.bill(other, "ev-other", 50_000).await;
    let (status, refused) = pay(&t, other).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "check_required");
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM payments").await,
        0,
        "nothing was stored"
    );
    assert!(recorder.bodies("/api/agent/v1/payments").is_empty());

    // Pay holds the session against its check row itself: values changed after the
    // session was opened on a good check (by a bug, by hand) are not vouched for.
    let tampered = open(&t, &account, json!({"city": "Пермь"})).await;
    let tampered = tampered["session_id"].as_i64().unwrap();
    sqlx::query("UPDATE sessions SET extra = '{\"city\":\"Казань\"}' WHERE id = $1")
        .bind(tampered)
        .execute(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    t.bill(tampered, "ev-tampered", 50_000).await;
    assert_eq!(pay(&t, tampered).await.0, 409);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM payments").await, 0);

    // The checked values pay, and the payment carries them to processing.
    let checked = open(&t, &account, json!({"city": "Пермь"})).await;
    assert!(checked["acceptable"].as_i64().unwrap() > 0, "{checked}");
    let checked = checked["session_id"].as_i64().unwrap();
    t.bill(checked, "ev-checked", 50_000).await;
    let (status, receipt) = pay(&t, checked).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["status"], "completed", "{receipt}");
    assert_eq!(receipt["extra"], json!({"city": "Пермь"}));
    let sent = recorder.bodies("/api/agent/v1/payments");
    assert!(!sent.is_empty());
    for body in &sent {
        assert_eq!(body["extra"], json!({"city": "Пермь"}), "{body}");
        assert_eq!(body["account"], account.as_str());
    }
    let (stored,): (String,) = sqlx::query_as("SELECT extra FROM payments")
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(stored, r#"{"city":"Пермь"}"#);
    assert_eq!(t.net.subscriber_balance().await, 50_000);
}

#[tokio::test]
async fn a_field_that_fails_its_regex_is_refused_before_processing_is_asked() {
    let t = Terminal::start_on(network_with_fields(two_fields()).await, 1_000_000, false).await;
    let recorder = Recorder::between(&t).await;
    sync(&t).await;
    let account = t.net.account.clone();
    for (account, extra, field, why) in [
        (
            account.as_str(),
            json!({"city": "Москва"}),
            "city",
            "must match Пермь|Казань",
        ),
        (account.as_str(), json!({}), "city", "required"),
        (
            "12345",
            json!({"city": "Пермь"}),
            "account",
            "must match 9\\d{9}",
        ),
        (
            account.as_str(),
            json!({"city": "Пермь", "flat": "1"}),
            "flat",
            "no such field for this provider",
        ),
    ] {
        let (status, refused) = check(&t, account, extra.clone()).await;
        assert_eq!(status, 422, "{extra}: {refused}");
        assert_eq!(refused["error"]["code"], "validation_failed");
        assert_eq!(refused["error"]["fields"][field], why, "{refused}");
        // A session cannot be opened on such values either.
        let (status, _) = t
            .kiosk(
                reqwest::Method::POST,
                "/api/kiosk/v1/sessions",
                Some(json!({"provider_id": t.net.provider_id, "account": account, "extra": extra})),
            )
            .await;
        assert_eq!(status, 422);
    }
    assert!(
        recorder.bodies("/api/agent/v1/checks").is_empty(),
        "processing was never asked"
    );
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM checks").await,
        0,
        "no check was recorded"
    );
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM sessions").await,
        0,
        "no session was opened"
    );
}

#[tokio::test]
async fn every_retry_of_a_payment_carries_its_fields() {
    let t = Terminal::start_on(network_with_fields(two_fields()).await, 1_000_000, false).await;
    let recorder = Recorder::between(&t).await;
    sync(&t).await;
    t.report_bill_table().await;
    let account = t.net.account.clone();
    let (status, answer) = check(&t, &account, json!({"city": "Казань"})).await;
    assert_eq!(
        (status, answer["result"].clone()),
        (200, json!(0)),
        "{answer}"
    );
    let session = open(&t, &account, json!({"city": "Казань"})).await["session_id"]
        .as_i64()
        .unwrap();
    t.bill(session, "ev-retry", 50_000).await;

    // Processing out of reach: the payment waits in the outbox and is tried again.
    t.link.break_link();
    let (status, receipt) = pay(&t, session).await;
    assert_eq!(status, 200, "{receipt}");
    let txn = receipt["agent_txn_id"].as_str().unwrap().to_owned();
    crate::helpers::eventually("two attempts of the payment", || async {
        let tries = recorder
            .bodies("/api/agent/v1/payments")
            .into_iter()
            .filter(|b| b["agent_txn_id"] == txn.as_str())
            .count();
        if tries >= 2 {
            Ok(())
        } else {
            Err(format!("{tries} attempts"))
        }
    })
    .await;
    t.link.restore();
    t.wait_receipt(session, "completed").await;
    let attempts: Vec<Value> = recorder
        .bodies("/api/agent/v1/payments")
        .into_iter()
        .filter(|b| b["agent_txn_id"] == txn.as_str())
        .collect();
    assert!(attempts.len() >= 3, "{attempts:?}");
    for body in &attempts {
        assert_eq!(body["extra"], json!({"city": "Казань"}), "{body}");
    }
    assert_eq!(t.net.subscriber_balance().await, 50_000);
}
