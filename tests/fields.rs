//! Payment fields end to end (wire.md `fields` and `extra`): a provider defines them on a
//! processing contract, processing keeps them, checks every value before asking the
//! provider, forwards the extras over OSMP and JSON on check, pay and every retry, and the
//! provider matches them again, stores them with the payment and shows them.

use portals::server::db;
use std::time::Duration;

use portals::role::Role;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp, eventually, send};
use crate::processing::spawn_processing;
use portals::chaos::proxy::ChaosProxy;

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// A mobile number with its mask, and a city from a fixed list.
fn two_fields() -> Value {
    json!([
        {"name": "account", "label": "Номер телефона", "label_en": "Phone number",
         "regex": "9\\d{9}", "mask": "(9xx) xxx-xx-xx", "hint": "10 цифр без восьмёрки"},
        {"name": "city", "label": "Город", "label_en": "City",
         "regex": "Пермь|Казань|Самара", "options": ["Пермь", "Казань", "Самара"]}
    ])
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = db::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(app.db.as_ref().unwrap())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn a_contract_whose_field_regex_does_not_compile_is_refused_naming_the_field() {
    let provider = TestApp::spawn(Role::Provider).await;
    let mut fields = two_fields();
    fields[1]["regex"] = json!("(Пермь|Казань");
    let (status, refused) = send(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        Some(json!({"processing_name": "Cyberplat", "protocol": "osmp", "fields": fields})),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "validation_failed");
    let why = refused["error"]["fields"]["fields.city"].as_str().unwrap();
    assert!(why.starts_with("the regex does not compile"), "{why}");
    assert_eq!(
        count(&provider, "SELECT COUNT(*) FROM processing_contracts").await,
        0,
        "nothing stored"
    );
    assert_eq!(
        count(&provider, "SELECT COUNT(*) FROM credentials").await,
        0
    );

    // A field named like an OSMP parameter would collide with it on the wire.
    let mut fields = two_fields();
    fields[1]["name"] = json!("sum");
    let (status, refused) = send(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        Some(json!({"processing_name": "Cyberplat", "protocol": "osmp", "fields": fields})),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused["error"]["fields"]["fields.sum"].is_string(),
        "{refused}"
    );

    let (status, issued) = send(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        Some(json!({"processing_name": "Cyberplat", "protocol": "osmp", "fields": two_fields()})),
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    assert_eq!(
        issued["fields"],
        two_fields(),
        "issued as defined, every part"
    );
    let id = issued["contract_id"].as_i64().unwrap();

    // Changing them later: the same rules, and a refusal changes nothing.
    let path = format!("/api/admin/v1/processing-contracts/{id}/fields");
    let (status, refused) = send(
        &provider,
        reqwest::Method::PUT,
        &path,
        ADMIN,
        Some(json!({"fields": [{"name": "city", "label": "Город", "regex": ".+"}]})),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused["error"]["fields"]["fields"].is_string(),
        "{refused}"
    );
    let (_, listed) = send(
        &provider,
        reqwest::Method::GET,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(listed[0]["fields"], two_fields());
    let only_account = json!([{"name": "account", "label": "Лицевой счёт", "regex": "\\d{8}"}]);
    let (status, changed) = send(
        &provider,
        reqwest::Method::PUT,
        &path,
        ADMIN,
        Some(json!({"fields": only_account})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["fields"], only_account);
    let (status, _) = send(
        &provider,
        reqwest::Method::PUT,
        "/api/admin/v1/processing-contracts/999/fields",
        ADMIN,
        Some(json!({"fields": only_account})),
    )
    .await;
    assert_eq!(status, 404);
}

/// A provider with a subscriber and a contract with [`two_fields`] in `protocol`, processing
/// reaching it through a chaos proxy, and an agent with a deposit.
struct FieldNetwork {
    provider: TestApp,
    processing: TestApp,
    _proxy: ChaosProxy,
    account: String,
    provider_id: i64,
    agent: (String, String),
}

impl FieldNetwork {
    async fn start(protocol: &str) -> FieldNetwork {
        let provider = TestApp::spawn(Role::Provider).await;
        let (_, subscriber) = send(&provider, reqwest::Method::POST, "/api/admin/v1/subscribers", ADMIN, Some(json!({
            "full_name": "Иванов Иван", "passport": "4510 123456", "email": "i@example.ru", "services": ["call"]
        })))
        .await;
        let (status, contract) = send(
            &provider,
            reqwest::Method::POST,
            "/api/admin/v1/processing-contracts",
            ADMIN,
            Some(
                json!({"processing_name": "paymesh", "protocol": protocol, "fields": two_fields()}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{contract}");
        let proxy = ChaosProxy::start(provider.addr)
            .await
            .expect("the proxy listens");
        let processing =
            spawn_processing(tempfile::tempdir().unwrap(), Duration::from_secs(1)).await;
        let path = if protocol == "json" {
            "/api/processing/v1"
        } else {
            "/osmp"
        };
        let (status, row) = send(&processing, reqwest::Method::POST, "/api/admin/v1/providers", ADMIN, Some(json!({
            "name": "Megafon", "service_kind": "mobile",
            "endpoint_url": format!("http://{}{path}", proxy.addr), "protocol": protocol,
            "login": contract["login"], "password": contract["password"],
            "fields": contract["fields"], "min_amount": contract["min_amount"], "max_amount": contract["max_amount"]
        })))
        .await;
        assert_eq!(status, 201, "{row}");
        assert_eq!(row["fields"], two_fields());
        let (_, agent) = send(
            &processing,
            reqwest::Method::POST,
            "/api/admin/v1/agents",
            ADMIN,
            Some(json!({
                "name": "Терминал", "fee": {"percent_bp": 0, "fixed": 0, "min": 0, "max": null}
            })),
        )
        .await;
        let (status, _) = send(
            &processing,
            reqwest::Method::POST,
            &format!("/api/admin/v1/agents/{}/topups", agent["agent_id"]),
            ADMIN,
            Some(json!({"amount": 1_000_000, "reference": "PP-1"})),
        )
        .await;
        assert_eq!(status, 200);
        FieldNetwork {
            account: subscriber["account"].as_str().unwrap().to_owned(),
            provider_id: row["provider_id"].as_i64().unwrap(),
            agent: (
                agent["login"].as_str().unwrap().to_owned(),
                agent["password"].as_str().unwrap().to_owned(),
            ),
            provider,
            processing,
            _proxy: proxy,
        }
    }

    async fn agent(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        send(
            &self.processing,
            method,
            path,
            (&self.agent.0, &self.agent.1),
            body,
        )
        .await
    }

    async fn check(&self, account: &str, extra: Value) -> (u16, Value) {
        self.agent(
            reqwest::Method::POST,
            "/api/agent/v1/checks",
            Some(json!({"provider_id": self.provider_id, "account": account, "extra": extra})),
        )
        .await
    }

    async fn pay(&self, agent_txn_id: &str, extra: Value) -> (u16, Value) {
        self.agent(reqwest::Method::POST, "/api/agent/v1/payments", Some(json!({
            "agent_txn_id": agent_txn_id, "provider_id": self.provider_id, "account": self.account,
            "extra": extra, "cash": 10_000, "agent_fee": 0, "amount": 10_000,
            "accepted_at": "2026-11-26T10:15:00Z"
        })))
        .await
    }

    async fn wait_completed(&self, agent_txn_id: &str) -> Value {
        let path = format!("/api/agent/v1/payments/{agent_txn_id}");
        eventually(&format!("{agent_txn_id} completed"), || async {
            let (_, payment) = self.agent(reqwest::Method::GET, &path, None).await;
            if payment["status"] == "completed" {
                Ok(payment)
            } else {
                Err(payment.to_string())
            }
        })
        .await
    }

    /// Requests that reached the provider's gateway.
    async fn provider_requests(&self) -> i64 {
        count(&self.provider, "SELECT COUNT(*) FROM gateway_log").await
    }

    /// The provider's `GET /transactions` for the subscriber.
    async fn transactions(&self) -> Value {
        send(
            &self.provider,
            reqwest::Method::GET,
            &format!("/api/admin/v1/transactions?account={}", self.account),
            ADMIN,
            None,
        )
        .await
        .1
    }
}

/// What both protocols must do: refuse bad values before the provider is asked, deliver
/// good ones on check and pay, and the provider stores and shows them.
async fn extras_arrive_and_are_stored(protocol: &str) {
    let n = FieldNetwork::start(protocol).await;
    let (_, catalog) = n
        .agent(reqwest::Method::GET, "/api/agent/v1/catalog", None)
        .await;
    assert_eq!(
        catalog["providers"][0]["fields"],
        two_fields(),
        "the catalog carries the whole definitions"
    );

    let asked = n.provider_requests().await;
    let (status, refused) = n.check(&n.account, json!({"city": "Москва"})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "validation_failed");
    assert_eq!(
        refused["error"]["fields"]["city"], "must match Пермь|Казань|Самара",
        "keyed by the field's name"
    );
    let (status, refused) = n.check(&n.account, json!({})).await;
    assert_eq!(status, 422);
    assert_eq!(refused["error"]["fields"]["city"], "required");
    let (status, refused) = n
        .check(&n.account, json!({"city": "Пермь", "floor": "2"}))
        .await;
    assert_eq!(status, 422);
    assert!(refused["error"]["fields"]["floor"].is_string(), "{refused}");
    let (status, refused) = n.pay("T-bad", json!({"city": "Пермь "})).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"]["fields"]["city"].is_string());
    assert_eq!(
        n.provider_requests().await,
        asked,
        "the provider was never asked"
    );
    assert_eq!(
        count(&n.processing, "SELECT COUNT(*) FROM payments").await,
        0,
        "a refused payment records nothing"
    );

    // Good values pass processing and the provider's own check of the same fields.
    let (status, checked) = n.check(&n.account, json!({"city": "Казань"})).await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["result"], 0, "{checked}");
    let (status, paid) = n.pay("T-1", json!({"city": "Казань"})).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["status"], "completed", "{paid}");

    let history = n.transactions().await;
    assert_eq!(history[0]["kind"], "payment");
    assert_eq!(history[0]["extra"], json!({"city": "Казань"}), "{history}");
    let (extra,): (String,) = db::query_as("SELECT extra FROM payments")
        .fetch_one(n.processing.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(extra, r#"{"city":"Казань"}"#, "processing stores them too");

    // The operator's connection test fills a listed field with its first option.
    let (status, tested) = send(
        &n.processing,
        reqwest::Method::POST,
        &format!("/api/admin/v1/providers/{}/test", n.provider_id),
        ADMIN,
        Some(json!({"account": n.account})),
    )
    .await;
    assert_eq!((status, &tested["result"]), (200, &json!(0)), "{tested}");

    // The same agent_txn_id with another city is another payment: a conflict, not a repeat.
    let (status, conflict) = n.pay("T-1", json!({"city": "Пермь"})).await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(count(&n.provider, "SELECT COUNT(*) FROM payments").await, 1);
}

#[tokio::test]
async fn extras_arrive_over_osmp_are_stored_and_shown() {
    extras_arrive_and_are_stored("osmp").await;
}

#[tokio::test]
async fn extras_arrive_over_json_are_stored_and_shown() {
    extras_arrive_and_are_stored("json").await;
}

#[tokio::test]
async fn a_retried_payment_still_carries_its_extras() {
    let n = FieldNetwork::start("osmp").await;
    // Paused: the provider answers 1 ("repeat later") and processing retries.
    let (status, _) = send(
        &n.provider,
        reqwest::Method::PUT,
        "/api/admin/v1/settings",
        ADMIN,
        Some(json!({"payments": "paused"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, payment) = n.pay("T-retry", json!({"city": "Самара"})).await;
    assert_eq!(status, 201);
    assert_eq!(payment["status"], "pending", "{payment}");
    eventually("two refused attempts", || async {
        let asked = n.provider_requests().await;
        if asked >= 2 {
            Ok(())
        } else {
            Err(format!("{asked} requests"))
        }
    })
    .await;
    send(
        &n.provider,
        reqwest::Method::PUT,
        "/api/admin/v1/settings",
        ADMIN,
        Some(json!({"payments": "open"})),
    )
    .await;
    n.wait_completed("T-retry").await;
    // The payment answered `pending` before the switch opened, so what credited it was a
    // retry (processing's attempt counter is no witness: the retrier may race the first
    // attempt and both count one).
    let (refused, credited): (i64, i64) = db::query_as(
        "SELECT CAST(SUM(CASE WHEN result = 1 THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN result = 0 THEN 1 ELSE 0 END) AS BIGINT) FROM gateway_log WHERE command = 'pay'",
    )
    .fetch_one(n.provider.db.as_ref().unwrap())
    .await
    .unwrap();
    assert!(
        refused >= 2 && credited >= 1,
        "{refused} refused, {credited} credited"
    );
    let history = n.transactions().await;
    assert_eq!(history[0]["extra"], json!({"city": "Самара"}), "{history}");
}

#[tokio::test]
async fn the_provider_matches_the_fields_itself_and_a_repeat_must_carry_the_same() {
    let n = FieldNetwork::start("osmp").await;
    let (status, contracts) = send(
        &n.provider,
        reqwest::Method::GET,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(contracts[0]["fields"], two_fields());
    // Ask the provider directly, as any processing center could: the contract's login.
    let (login, password): (String, String) = db::query_as("SELECT login, password FROM providers")
        .fetch_one(n.processing.db.as_ref().unwrap())
        .await
        .unwrap();
    let osmp = |query: String| {
        let (client, url) = (n.provider.client.clone(), n.provider.url("/osmp"));
        let (login, password) = (login.clone(), password.clone());
        async move {
            client
                .get(format!("{url}?{query}"))
                .basic_auth(login, Some(password))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let pay = |txn_id: &str, extra: &str| {
        format!(
            "command=pay&txn_id={txn_id}&account={}&sum=100.00&txn_date=20261126101500{extra}",
            n.account
        )
    };
    let perm = "&city=%D0%9F%D0%B5%D1%80%D0%BC%D1%8C";
    for (why, extra) in [
        ("missing", ""),
        ("not in the list", "&city=Moscow"),
        ("unknown", &*format!("{perm}&floor=2")),
    ] {
        let answer = osmp(pay("50", extra)).await;
        assert!(answer.contains("<result>4</result>"), "{why}: {answer}");
    }
    assert_eq!(count(&n.provider, "SELECT COUNT(*) FROM payments").await, 0);
    let answer = osmp(pay("51", perm)).await;
    assert!(answer.contains("<result>0</result>"), "{answer}");
    let repeat = osmp(pay("51", perm)).await;
    assert_eq!(repeat, answer, "a repeat gets the first answer");
    let other = osmp(pay("51", "&city=%D0%9A%D0%B0%D0%B7%D0%B0%D0%BD%D1%8C")).await;
    assert!(other.contains("<result>300</result>"), "{other}");
    assert_eq!(count(&n.provider, "SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(n.transactions().await[0]["extra"], json!({"city": "Пермь"}));
}

#[tokio::test]
async fn processing_refuses_a_provider_whose_field_regex_does_not_compile() {
    let processing = spawn_processing(tempfile::tempdir().unwrap(), Duration::from_secs(1)).await;
    let mut fields = two_fields();
    fields[1]["regex"] = json!("Пермь|(Казань");
    let body = json!({
        "name": "Er-Telecom", "service_kind": "internet", "endpoint_url": "http://127.0.0.1:9/osmp",
        "protocol": "osmp", "login": "processing-1", "password": "secret",
        "fields": fields, "min_amount": 100, "max_amount": 100_000
    });
    let (status, refused) = send(
        &processing,
        reqwest::Method::POST,
        "/api/admin/v1/providers",
        ADMIN,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let why = refused["error"]["fields"]["fields.city"].as_str().unwrap();
    assert!(why.starts_with("the regex does not compile"), "{why}");
    assert_eq!(
        count(&processing, "SELECT COUNT(*) FROM providers").await,
        0
    );

    let mut good = body.clone();
    good["fields"] = two_fields();
    let (status, row) = send(
        &processing,
        reqwest::Method::POST,
        "/api/admin/v1/providers",
        ADMIN,
        Some(good),
    )
    .await;
    assert_eq!(status, 201, "{row}");
    let (status, refused) = send(
        &processing,
        reqwest::Method::PATCH,
        &format!("/api/admin/v1/providers/{}", row["provider_id"]),
        ADMIN,
        Some(json!({"fields": fields})),
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused["error"]["fields"]["fields.city"].is_string());
    let (_, listed) = send(
        &processing,
        reqwest::Method::GET,
        "/api/admin/v1/providers",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(
        listed[0]["fields"],
        two_fields(),
        "the refused change changed nothing"
    );
}

/// A Leptos server function called as a form posts it: (status, JSON answer).
async fn submit(app: &TestApp, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(endpoint))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A page as the server renders it.
async fn page(app: &TestApp, path: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_provider_portal_edits_a_contracts_fields_and_names_a_refused_one() {
    let provider = TestApp::spawn(Role::Provider).await;
    let (status, _) = send(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        Some(json!({"processing_name": "Cyberplat", "protocol": "osmp"})),
    )
    .await;
    assert_eq!(status, 201);
    // The contract's page: one row per field, each with its try-a-value box.
    let html = page(&provider, "/processing-contracts/1").await;
    for shown in ["field-0-regex", "field-0-sample", "9[0-9]{9}"] {
        assert!(html.contains(shown), "no {shown} on the fields page");
    }
    let mut broken = two_fields();
    broken[1]["regex"] = json!("(Пермь");
    let (status, answer) = submit(
        &provider,
        "/ui/provider/contract-fields",
        &[("id", "1"), ("fields", &broken.to_string())],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["Refused"]["fields.city"]
            .as_str()
            .is_some_and(|why| why.starts_with("the regex does not compile")),
        "{answer}"
    );
    let (status, answer) = submit(
        &provider,
        "/ui/provider/contract-fields",
        &[("id", "1"), ("fields", &two_fields().to_string())],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({"Saved": two_fields()}));
    let (_, listed) = send(
        &provider,
        reqwest::Method::GET,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(listed[0]["fields"], two_fields());
    let html = page(&provider, "/processing-contracts").await;
    assert!(
        html.contains("Номер телефона, Город"),
        "the list names the fields by their labels"
    );
}

#[tokio::test]
async fn the_processing_portal_takes_the_fields_json_and_shows_each_refusal() {
    let processing = spawn_processing(tempfile::tempdir().unwrap(), Duration::from_secs(1)).await;
    let form = |fields: &str| {
        vec![
            ("name", "Er-Telecom".to_owned()),
            ("service_kind", "internet".to_owned()),
            ("endpoint_url", "http://127.0.0.1:9/osmp".to_owned()),
            ("protocol", "osmp".to_owned()),
            ("login", "processing-1".to_owned()),
            ("password", "secret".to_owned()),
            ("fields", fields.to_owned()),
            ("min_amount", "1.00".to_owned()),
            ("max_amount", "15000.00".to_owned()),
        ]
    };
    let post = |fields: String| {
        let form = form(&fields);
        let processing = &processing;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            submit(processing, "/ui/processing/create-provider", &pairs).await
        }
    };
    let (status, answer) = post("[{\"name\": \"account\"".to_owned()).await;
    assert_eq!(status, 200);
    assert!(answer["Refused"]["fields"].is_string(), "{answer}");
    let mut broken = two_fields();
    broken[1]["regex"] = json!("Пермь|(");
    broken[0]["name"] = json!("Account");
    let (_, answer) = post(broken.to_string()).await;
    assert!(answer["Refused"]["fields.city"].is_string(), "{answer}");
    assert!(answer["Refused"]["fields.0"].is_string(), "{answer}");
    assert_eq!(
        count(&processing, "SELECT COUNT(*) FROM providers").await,
        0
    );

    let (_, answer) = post(two_fields().to_string()).await;
    assert_eq!(answer["Provider"]["fields"], two_fields(), "{answer}");
    let html = page(&processing, "/providers").await;
    for shown in ["Пермь | Казань | Самара", "(9xx) xxx-xx-xx", "Phone number"] {
        assert!(
            html.contains(shown),
            "the provider card does not show {shown}"
        );
    }
}

#[tokio::test]
async fn the_transactions_page_shows_a_payments_fields() {
    let n = FieldNetwork::start("json").await;
    let (status, paid) = n.pay("T-page", json!({"city": "Самара"})).await;
    assert_eq!(
        (status, &paid["status"]),
        (201, &json!("completed")),
        "{paid}"
    );
    let html = page(&n.provider, &format!("/transactions?account={}", n.account)).await;
    assert!(
        html.contains("city: Самара"),
        "the payment's city is not shown"
    );
}
