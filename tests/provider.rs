//! The provider: subscriber contracts, tariffs, usage, and the OSMP/JSON gateway with
//! exactly-once credit. OSMP answers are compared byte for byte.

use portals::role::Role;
use portals::server::db;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp};

/// A provider with one subscriber and one OSMP processing contract.
struct Billing {
    app: TestApp,
    account: String,
    subscriber_password: String,
    processing_login: String,
    processing_password: String,
}

impl Billing {
    async fn new() -> Billing {
        let app = TestApp::spawn(Role::Provider).await;
        let contract = admin_post(
            &app,
            "/api/admin/v1/subscribers",
            json!({
                "full_name": "Иванов Иван Иванович", "passport": "4510 123456",
                "email": "ivanov@example.ru", "services": ["call", "internet", "sms"]
            }),
        )
        .await;
        assert_eq!(contract.0, 201, "{}", contract.1);
        let processing = admin_post(
            &app,
            "/api/admin/v1/processing-contracts",
            json!({
                "processing_name": "Cyberplat", "protocol": "osmp"
            }),
        )
        .await;
        assert_eq!(processing.0, 201, "{}", processing.1);
        Billing {
            account: contract.1["account"].as_str().unwrap().to_owned(),
            subscriber_password: contract.1["password"].as_str().unwrap().to_owned(),
            processing_login: processing.1["login"].as_str().unwrap().to_owned(),
            processing_password: processing.1["password"].as_str().unwrap().to_owned(),
            app,
        }
    }

    /// An OSMP GET with the processing contract's credentials: (status, body).
    async fn osmp(&self, query: &str) -> (u16, String) {
        let response = self
            .app
            .client
            .get(self.app.url(&format!("/osmp?{query}")))
            .basic_auth(&self.processing_login, Some(&self.processing_password))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if status == 200 {
            assert_eq!(
                response.headers()["content-type"],
                "application/xml; charset=utf-8"
            );
        }
        (status, response.text().await.unwrap())
    }

    async fn pay(&self, txn_id: &str, account: &str, sum: &str) -> String {
        self.osmp(&format!(
            "command=pay&txn_id={txn_id}&account={account}&sum={sum}&txn_date=20261126101500"
        ))
        .await
        .1
    }

    async fn balance(&self) -> i64 {
        let body: Value = self
            .app
            .client
            .get(self.app.url("/api/usage/v1/balance"))
            .basic_auth(&self.account, Some(&self.subscriber_password))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["balance"]["amount"].as_i64().unwrap()
    }

    async fn use_service(&self, service: &str, quantity: i64) -> (u16, Value) {
        let response = self
            .app
            .client
            .post(self.app.url("/api/usage/v1/usage"))
            .basic_auth(&self.account, Some(&self.subscriber_password))
            .json(&json!({"service": service, "quantity": quantity}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn count(&self, table: &str) -> i64 {
        let pool = self.app.db.as_ref().unwrap();
        let (n,): (i64,) =
            db::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(pool)
                .await
                .unwrap();
        n
    }
}

async fn admin_post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    admin_send(app, reqwest::Method::POST, path, body).await
}

async fn admin_send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The expected document for an answer without prv_txn/sum.
fn answer(txn_id: Option<&str>, result: u16, comment: &str) -> String {
    let id = txn_id
        .map(|t| format!("<osmp_txn_id>{t}</osmp_txn_id>\n"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n{id}<result>{result}</result>\n<comment>{comment}</comment>\n</response>\n"
    )
}

fn paid(txn_id: &str, prv_txn: i64, sum: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n<osmp_txn_id>{txn_id}</osmp_txn_id>\n<prv_txn>{prv_txn}</prv_txn>\n<sum>{sum}</sum>\n<result>0</result>\n<comment>OK</comment>\n</response>\n"
    )
}

#[tokio::test]
async fn signing_issues_an_account_credentials_and_a_zero_balance() {
    let app = TestApp::spawn(Role::Provider).await;
    let (status, contract) = admin_post(&app, "/api/admin/v1/subscribers", json!({
        "full_name": "Петрова Анна", "passport": "45 10 654321", "email": "anna@example.ru", "services": ["sms", "call"]
    }))
    .await;
    assert_eq!(status, 201);
    let account = contract["account"].as_str().unwrap();
    assert!(
        account.len() == 10
            && account.starts_with('9')
            && account.bytes().all(|b| b.is_ascii_digit()),
        "{account}"
    );
    assert_eq!(
        contract["usage_url"],
        format!("http://{}/api/usage/v1/usage", app.addr)
    );
    assert_eq!(contract["protocol"], "paymesh-usage/1");
    assert_eq!(contract["login"], account);
    assert_eq!(contract["services"], json!(["call", "sms"]));
    assert_eq!(contract["balance"], json!({"amount": 0, "currency": "RUB"}));
    assert_eq!(contract["password"].as_str().unwrap().len(), 20);

    let (status, detail) = admin_send(
        &app,
        reqwest::Method::GET,
        &format!("/api/admin/v1/subscribers/{account}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(detail["passport"], "4510 654321");
    assert_eq!(detail["status"], "active");
    assert!(
        detail.get("password").is_none(),
        "the password is shown once only"
    );

    let (_, list) = admin_send(
        &app,
        reqwest::Method::GET,
        "/api/admin/v1/subscribers?q=Петрова",
        Value::Null,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, list) = admin_send(
        &app,
        reqwest::Method::GET,
        "/api/admin/v1/subscribers?q=%25",
        Value::Null,
    )
    .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        0,
        "a % in the search is a character, not a wildcard"
    );
}

#[tokio::test]
async fn bad_contract_data_names_every_field_and_writes_nothing() {
    let app = TestApp::spawn(Role::Provider).await;
    let (status, body) = admin_post(&app, "/api/admin/v1/subscribers", json!({
        "full_name": "Robert'); DROP TABLE subscribers;--", "passport": "12", "email": "nobody", "services": ["tv"]
    }))
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields = body["error"]["fields"].as_object().unwrap();
    assert_eq!(
        fields.keys().collect::<Vec<_>>(),
        ["email", "full_name", "passport", "services"]
    );
    let (status, body) =
        admin_post(&app, "/api/admin/v1/subscribers", json!({"full_name": 5})).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["fields"]["body"]
            .as_str()
            .map(|s| s.starts_with("not valid JSON")),
        Some(true)
    );
    let (n,): (i64,) = db::query_as("SELECT COUNT(*) FROM subscribers")
        .fetch_one(app.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(n, 0);
    let (n,): (i64,) = db::query_as("SELECT COUNT(*) FROM credentials")
        .fetch_one(app.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn osmp_check_and_pay_answer_the_exact_documents() {
    let b = Billing::new().await;
    let account = b.account.clone();
    assert_eq!(
        b.osmp(&format!(
            "command=check&txn_id=1001&account={account}&sum=10.45"
        ))
        .await,
        (200, answer(Some("1001"), 0, "OK"))
    );
    let first = b.pay("1002", &account, "10.45").await;
    let prv_txn: i64 = first
        .split("<prv_txn>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(first, paid("1002", prv_txn, "10.45"));
    assert_eq!(b.balance().await, 1045);
    // A repeat: the same document, nothing credited again.
    assert_eq!(b.pay("1002", &account, "10.45").await, first);
    assert_eq!(b.balance().await, 1045);
    // The same txn_id with another sum or account: 300, nothing credited.
    assert_eq!(
        b.pay("1002", &account, "10.46").await,
        answer(Some("1002"), 300, "Other provider error")
    );
    assert_eq!(
        b.pay("1002", "9000000001", "10.45").await,
        answer(Some("1002"), 300, "Other provider error")
    );
    assert_eq!(b.balance().await, 1045);
    // POST with a form body works the same.
    let response = b
        .app
        .client
        .post(b.app.url("/osmp"))
        .basic_auth(&b.processing_login, Some(&b.processing_password))
        .form(&[
            ("command", "pay"),
            ("txn_id", "1003"),
            ("account", account.as_str()),
            ("sum", "1.00"),
            ("txn_date", "20261126101500"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<sum>1.00</sum>\n<result>0</result>")
    );
    assert_eq!(b.balance().await, 1145);
}

#[tokio::test]
async fn osmp_every_refusal_code_byte_for_byte() {
    let b = Billing::new().await;
    let a = b.account.clone();
    let check = |id: &str, account: &str, sum: &str| {
        format!("command=check&txn_id={id}&account={account}&sum={sum}")
    };
    assert_eq!(
        b.osmp(&check("1", "12345", "10.00")).await.1,
        answer(Some("1"), 4, "Account format is wrong")
    );
    assert_eq!(
        b.osmp(&check("2", "9999999999", "10.00")).await.1,
        answer(Some("2"), 5, "Account not found")
    );
    assert_eq!(
        b.osmp(&check("3", &a, "0.99")).await.1,
        answer(Some("3"), 241, "Sum is too small")
    );
    assert_eq!(
        b.osmp(&check("4", &a, "15000.01")).await.1,
        answer(Some("4"), 242, "Sum is too large")
    );
    assert_eq!(
        b.osmp(&check("5", &a, "10,45")).await.1,
        answer(Some("5"), 300, "Other provider error")
    );
    assert_eq!(
        b.osmp("command=refund&txn_id=6").await.1,
        answer(Some("6"), 300, "Other provider error")
    );
    assert_eq!(
        b.osmp(&format!("command=pay&txn_id=7&account={a}&sum=10.00"))
            .await
            .1,
        answer(Some("7"), 300, "Other provider error"),
        "pay without txn_date"
    );

    let settings = |payments: &'static str| {
        admin_send(
            &b.app,
            reqwest::Method::PUT,
            "/api/admin/v1/settings",
            json!({"payments": payments}),
        )
    };
    assert_eq!(settings("paused").await.0, 200);
    assert_eq!(
        b.osmp(&check("8", &a, "10.00")).await.1,
        answer(Some("8"), 1, "Temporary error, repeat later")
    );
    assert_eq!(settings("closed").await.0, 200);
    assert_eq!(
        b.osmp(&check("9", &a, "10.00")).await.1,
        answer(Some("9"), 8, "Payments are forbidden for technical reasons")
    );
    assert_eq!(settings("open").await.0, 200);

    let contract_id = b.processing_login.trim_start_matches("processing-");
    let path = format!("/api/admin/v1/processing-contracts/{contract_id}");
    assert_eq!(
        admin_send(
            &b.app,
            reqwest::Method::PATCH,
            &path,
            json!({"status": "suspended"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        b.osmp(&check("10", &a, "10.00")).await.1,
        answer(Some("10"), 7, "Payments are forbidden by the provider")
    );
    assert_eq!(
        admin_send(
            &b.app,
            reqwest::Method::PATCH,
            &path,
            json!({"status": "active"})
        )
        .await
        .0,
        200
    );

    let closed = admin_send(
        &b.app,
        reqwest::Method::DELETE,
        &format!("/api/admin/v1/subscribers/{a}"),
        Value::Null,
    )
    .await;
    assert_eq!(closed.1["status"], "closed");
    assert_eq!(
        b.osmp(&check("11", &a, "10.00")).await.1,
        answer(Some("11"), 79, "Account is not active")
    );
    assert_eq!(
        b.pay("12", &a, "10.00").await,
        answer(Some("12"), 79, "Account is not active")
    );

    // Closing the processing contract revokes its login: the only non-200 answer.
    assert_eq!(
        admin_send(
            &b.app,
            reqwest::Method::PATCH,
            &path,
            json!({"status": "closed"})
        )
        .await
        .0,
        200
    );
    assert_eq!(b.osmp(&check("13", &a, "10.00")).await.0, 401);
}

/// `txn_date` (`YYYYMMDDHHMMSS`, UTC) `days` from now.
fn days_from_now(days: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[tokio::test]
async fn bad_input_gets_its_code_a_log_row_and_changes_nothing() {
    let b = Billing::new().await;
    let a = b.account.clone();
    let before = (
        b.balance().await,
        b.count("payments").await,
        b.count("gateway_log").await,
    );
    let long_txn = "1".repeat(21);
    let cases: Vec<(String, &str)> = vec![
        (format!("command=pay&txn_id=1&account={a}&sum=10,45&txn_date=20261126101500"), "300"),
        (format!("command=pay&txn_id=2&account={a}&sum=1e3&txn_date=20261126101500"), "300"),
        (format!("command=pay&txn_id=3&account={a}&sum=-5.00&txn_date=20261126101500"), "300"),
        (format!("command=pay&txn_id=4&account={a}&sum=10.456&txn_date=20261126101500"), "300"),
        (format!("command=pay&txn_id={long_txn}&account={a}&sum=10.00&txn_date=20261126101500"), "300"),
        ("command=drop&txn_id=5".to_owned(), "300"),
        (format!("command=pay&txn_id=6&account=%FF%FE{a}&sum=10.00&txn_date=20261126101500"), "4"),
        ("command=pay&txn_id=7&account=.*&sum=10.00&txn_date=20261126101500".to_owned(), "4"),
        ("command=pay&txn_id=8&account=9%27%20OR%20%271%27%3D%271&sum=10.00&txn_date=20261126101500".to_owned(), "4"),
        (format!("command=pay&txn_id=9&account={a}%00&sum=10.00&txn_date=20261126101500"), "4"),
        (format!("command=pay&txn_id=10&account={a}&sum=10.00&txn_date=2026-11-26"), "300"),
        (format!("command=pay&txn_id=11&txn_id=12&account={a}&sum=10.00&txn_date=20261126101500"), "300"),
        // Dates that are not real, or not yet: 31 February, the year 0, three days ahead.
        (format!("command=pay&txn_id=13&account={a}&sum=10.00&txn_date=20260231101500"), "300"),
        (format!("command=pay&txn_id=14&account={a}&sum=10.00&txn_date=00000101000000"), "300"),
        (format!("command=pay&txn_id=15&account={a}&sum=10.00&txn_date={}", days_from_now(3)), "300"),
        // A sum beyond any payment paymesh accepts (and beyond i64 kopecks).
        (format!("command=pay&txn_id=16&account={a}&sum=1000000000.01&txn_date=20261126101500"), "300"),
        (format!("command=pay&txn_id=17&account={a}&sum=92233720368547758.07&txn_date=20261126101500"), "300"),
    ];
    for (query, code) in &cases {
        let (status, body) = b.osmp(query).await;
        assert_eq!(status, 200, "{query}");
        assert!(
            body.contains(&format!("<result>{code}</result>")),
            "{query}: {body}"
        );
    }
    // A 1 MB body and raw non-UTF-8 bytes.
    let post = |body: Vec<u8>| {
        b.app
            .client
            .post(b.app.url("/osmp"))
            .basic_auth(&b.processing_login, Some(&b.processing_password))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let huge = post(vec![b'a'; 1 << 20]).await.unwrap();
    assert_eq!(huge.status(), 200);
    assert!(huge.text().await.unwrap().contains("<result>300</result>"));
    let mut raw = b"command=pay&txn_id=13&sum=10.00&txn_date=20261126101500&account=".to_vec();
    raw.extend_from_slice(&[0xff, 0xfe, 0x39]);
    let garbage = post(raw).await.unwrap();
    assert!(garbage.text().await.unwrap().contains("<result>4</result>"));

    assert_eq!(b.balance().await, before.0);
    assert_eq!(b.count("payments").await, before.1);
    assert_eq!(
        b.count("gateway_log").await,
        before.2 + cases.len() as i64 + 2,
        "every request is logged"
    );
}

#[tokio::test]
async fn a_hundred_concurrent_repeats_credit_once() {
    let b = Billing::new().await;
    let answers =
        futures::future::join_all((0..100).map(|_| b.pay("777", &b.account, "100.00"))).await;
    let first = &answers[0];
    assert!(first.contains("<result>0</result>"), "{first}");
    assert!(
        answers.iter().all(|a| a == first),
        "every repeat gets the same prv_txn"
    );
    assert_eq!(b.balance().await, 10_000);
    assert_eq!(b.count("payments").await, 1);
    let (n,): (i64,) = db::query_as("SELECT COUNT(*) FROM transactions WHERE kind = 'payment'")
        .fetch_one(b.app.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn balance_follows_mixed_usage_and_payments() {
    let b = Billing::new().await;
    // Nothing to spend yet: 402 and nothing charged.
    let (status, body) = b.use_service("call", 1).await;
    assert_eq!(status, 402);
    assert_eq!(body["error"]["code"], "insufficient_funds");
    assert!(
        b.pay("1", &b.account, "50.00")
            .await
            .contains("<result>0</result>")
    );
    let (status, body) = b.use_service("call", 3).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["charged"], json!({"amount": 750, "currency": "RUB"}));
    assert_eq!(body["balance"], json!({"amount": 4250, "currency": "RUB"}));
    assert_eq!(
        b.use_service("internet", 100).await.1["balance"]["amount"],
        1250
    );
    assert_eq!(b.use_service("sms", 7).await.0, 402, "7 × 2.00 > 12.50");
    assert_eq!(b.use_service("sms", 6).await.1["balance"]["amount"], 50);
    assert!(
        b.pay("2", &b.account, "1.00")
            .await
            .contains("<result>0</result>")
    );
    assert_eq!(b.balance().await, 150);
    assert_eq!(b.use_service("tv", 1).await.0, 422);
    assert_eq!(b.use_service("call", 0).await.0, 422);
    assert_eq!(b.use_service("call", -2).await.0, 422);

    // The history holds every movement and adds up.
    let (status, history) = admin_send(
        &b.app,
        reqwest::Method::GET,
        &format!("/api/admin/v1/transactions?account={}", b.account),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let rows = history.as_array().unwrap();
    assert_eq!(
        rows.len(),
        5,
        "two payments and three charges; refusals leave no row"
    );
    assert_eq!(
        rows.iter()
            .map(|r| r["amount"].as_i64().unwrap())
            .sum::<i64>(),
        150
    );
    assert_eq!(rows[0]["balance_after"], 150);
    let (status, _) = admin_send(
        &b.app,
        reqwest::Method::GET,
        "/api/admin/v1/transactions?from=26.11.2026",
        Value::Null,
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn tariffs_set_the_price_of_usage() {
    let b = Billing::new().await;
    let (status, tariffs) = admin_send(
        &b.app,
        reqwest::Method::PUT,
        "/api/admin/v1/tariffs",
        json!([{"service": "call", "unit_price": 100}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        tariffs[0],
        json!({"service": "call", "unit": "minute", "unit_price": 100})
    );
    let (status, _) = admin_send(
        &b.app,
        reqwest::Method::PUT,
        "/api/admin/v1/tariffs",
        json!([{"service": "call", "unit_price": -1}]),
    )
    .await;
    assert_eq!(status, 422);
    b.pay("1", &b.account, "10.00").await;
    assert_eq!(b.use_service("call", 4).await.1["charged"]["amount"], 400);
}

#[tokio::test]
async fn verify_lists_the_days_credited_payments_and_json_speaks_the_same() {
    let b = Billing::new().await;
    let a = b.account.clone();
    let first = b.pay("501", &a, "10.45").await;
    let prv_txn = first
        .split("<prv_txn>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        b.osmp("command=verify&date=20261126").await.1,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n<result>0</result>\n<verify>\n<payment txn_id=\"501\" prv_txn=\"{prv_txn}\" account=\"{a}\" amount=\"10.45\" date=\"26.11.2026 10:15:00\"/>\n</verify>\n</response>\n"
        )
    );
    assert!(
        b.osmp("command=verify&date=20261127")
            .await
            .1
            .contains("<verify>\n</verify>")
    );
    assert!(
        b.osmp("command=verify&date=2026-11-26")
            .await
            .1
            .contains("<result>300</result>")
    );

    let json_contract = admin_post(
        &b.app,
        "/api/admin/v1/processing-contracts",
        json!({"processing_name": "OSMP", "protocol": "json"}),
    )
    .await
    .1;
    assert_eq!(
        json_contract["endpoint_url"],
        format!("http://{}/api/processing/v1", b.app.addr)
    );
    let call = |path: &'static str, body: Value| {
        b.app
            .client
            .post(b.app.url(path))
            .basic_auth(
                json_contract["login"].as_str().unwrap(),
                json_contract["password"].as_str(),
            )
            .json(&body)
            .send()
    };
    let check: Value = call(
        "/api/processing/v1/check",
        json!({"txn_id": "9", "account": a, "amount": 1000}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(check, json!({"txn_id": "9", "result": 0, "message": "OK"}));
    let pay = call(
        "/api/processing/v1/pay",
        json!({"txn_id": "9", "account": a, "amount": 1000, "txn_date": "2026-11-26T10:15:00Z"}),
    )
    .await
    .unwrap();
    assert_eq!(pay.status(), 200);
    let pay: Value = pay.json().await.unwrap();
    assert_eq!(pay["result"], 0);
    assert_eq!(pay["amount"], 1000);
    assert!(pay["prv_txn"].as_i64().is_some());
    let unknown: Value = call(
        "/api/processing/v1/check",
        json!({"txn_id": "10", "account": "9999999999", "amount": 1000}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(unknown["result"], 5);
    assert_eq!(
        unknown["txn_id"], "10",
        "every answer names the request it answers"
    );
    // Numbers and dates no real payment has: refused with 300, nothing credited.
    for (txn_id, amount, date) in [
        ("11", json!(i64::MAX), "2026-11-26T10:15:00Z"),
        ("12", json!(1000), "0000-01-01T00:00:00Z"),
        ("13", json!(1000), "2999-01-01T00:00:00Z"),
    ] {
        let refused: Value = call(
            "/api/processing/v1/pay",
            json!({"txn_id": txn_id, "account": a, "amount": amount, "txn_date": date}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(refused["result"], 300, "{txn_id}: {refused}");
    }
    assert_eq!(b.balance().await, 1045 + 1000);
    // Each processing center has its own txn_id space: the OSMP contract's 501 is not the JSON one's.
    let other = call(
        "/api/processing/v1/pay",
        json!({"txn_id": "501", "account": a, "amount": 500, "txn_date": "2026-11-26T10:15:00Z"}),
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(other["result"], 0);
    assert_ne!(other["prv_txn"].to_string(), prv_txn);
}

#[tokio::test]
async fn closing_a_contract_keeps_history_and_stops_its_login() {
    let b = Billing::new().await;
    b.pay("1", &b.account, "20.00").await;
    assert_eq!(b.use_service("sms", 1).await.0, 200);
    let (status, patched) = admin_send(
        &b.app,
        reqwest::Method::PATCH,
        &format!("/api/admin/v1/subscribers/{}", b.account),
        json!({"email": "new@example.ru", "services": ["sms"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(patched["email"], "new@example.ru");
    assert_eq!(
        b.use_service("call", 1).await.0,
        422,
        "call is no longer in the contract"
    );
    let (_, closed) = admin_send(
        &b.app,
        reqwest::Method::DELETE,
        &format!("/api/admin/v1/subscribers/{}", b.account),
        Value::Null,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["balance"]["amount"], 1800);
    assert_eq!(
        b.use_service("sms", 1).await.0,
        401,
        "a closed contract's login is revoked"
    );
    let (status, _) = admin_send(
        &b.app,
        reqwest::Method::PATCH,
        &format!("/api/admin/v1/subscribers/{}", b.account),
        json!({"email": "x@example.ru"}),
    )
    .await;
    assert_eq!(status, 422);
    let (_, history) = admin_send(
        &b.app,
        reqwest::Method::GET,
        &format!("/api/admin/v1/transactions?account={}", b.account),
        Value::Null,
    )
    .await;
    assert_eq!(history.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failing_database_answers_243_to_check_and_1_to_pay() {
    let b = Billing::new().await;
    let a = b.account.clone();
    // Make every read of subscribers fail, as a broken disk would.
    db::query("ALTER TABLE subscribers RENAME TO subscribers_away")
        .execute(b.app.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        b.osmp(&format!("command=check&txn_id=31&account={a}&sum=10.00"))
            .await
            .1,
        answer(Some("31"), 243, "Account state cannot be checked")
    );
    assert_eq!(
        b.pay("32", &a, "10.00").await,
        answer(Some("32"), 1, "Temporary error, repeat later")
    );
    db::query("ALTER TABLE subscribers_away RENAME TO subscribers")
        .execute(b.app.db.as_ref().unwrap())
        .await
        .unwrap();
    // The repeat of the temporary failure is processed again, and credited.
    assert!(
        b.pay("32", &a, "10.00")
            .await
            .contains("<result>0</result>")
    );
    assert_eq!(b.balance().await, 1000);
}

#[tokio::test]
async fn retention_deletes_old_log_rows_and_keeps_the_money() {
    let b = Billing::new().await;
    let a = b.account.clone();
    assert!(b.pay("1", &a, "10.00").await.contains("<result>0</result>"));
    assert!(b.pay("2", &a, "20.00").await.contains("<result>0</result>"));
    let pool = b.app.db.clone().unwrap();
    // The first pay's log row and every transaction are made a year old.
    db::query(
        "UPDATE gateway_log SET created_at = '2025-01-01T00:00:00.000000Z' WHERE txn_id = '1'",
    )
    .execute(&pool)
    .await
    .unwrap();
    db::query("UPDATE payments SET created_at = '2025-01-01T00:00:00.000000Z'")
        .execute(&pool)
        .await
        .unwrap();
    let (payments, logged) = (b.count("payments").await, b.count("gateway_log").await);
    let deleted = portals::server::retention::sweep_once(
        &pool,
        portals::provider::server::RETENTION,
        std::time::Duration::from_secs(90 * 86_400),
    )
    .await
    .unwrap();
    assert_eq!(deleted[0], ("gateway log rows", 1), "{deleted:?}");
    assert_eq!(
        b.count("gateway_log").await,
        logged - 1,
        "the recent row stays"
    );
    assert_eq!(
        b.count("payments").await,
        payments,
        "money rows are never swept"
    );
    assert_eq!(b.balance().await, 3_000);
}

/// Sent mail ages out like the gateway log: a letter sent (or given up) longer ago than
/// the retention age is deleted, attachment and all; one sent recently, and one still
/// queued however old, stay.
#[tokio::test]
async fn retention_deletes_old_sent_mail_and_keeps_recent_and_queued_letters() {
    use portals::server::clock::{self, Stamp};
    let b = Billing::new().await;
    let pool = b.app.db.clone().unwrap();
    let long_ago = Stamp::parse("2025-01-01T00:00:00Z").unwrap();
    let due = clock::stamp(time::OffsetDateTime::now_utc() + time::Duration::days(1));
    // (subject, status, created_at, next_attempt_at, sent_at)
    let letters = [
        ("old sent", "sent", long_ago, None, Some(long_ago)),
        ("old failed", "failed", long_ago, None, None),
        ("old queued", "queued", long_ago, Some(due), None),
        (
            "recent sent",
            "sent",
            clock::now(),
            None,
            Some(clock::now()),
        ),
    ];
    for (subject, status, created_at, next_attempt_at, sent_at) in letters {
        db::query(
            "INSERT INTO outgoing_mail (subscriber_id, recipient_name, recipient, subject, body,
                                        attachment_name, attachment, status, next_attempt_at,
                                        created_at, sent_at)
             VALUES ((SELECT id FROM subscribers WHERE account = $1), 'Иванов', 'ivanov@example.ru',
                     $2, 'Отчёт', 'report.pdf', $3, $4, $5, $6, $7)",
        )
        .bind(&b.account)
        .bind(subject)
        .bind(b"%PDF".to_vec())
        .bind(status)
        .bind(next_attempt_at)
        .bind(created_at)
        .bind(sent_at)
        .execute(&pool)
        .await
        .unwrap();
    }
    let deleted = portals::server::retention::sweep_once(
        &pool,
        portals::provider::server::RETENTION,
        std::time::Duration::from_secs(90 * 86_400),
    )
    .await
    .unwrap();
    assert!(
        deleted.contains(&("sent or failed e-mails", 2)),
        "{deleted:?}"
    );
    let kept: Vec<(String,)> = db::query_as("SELECT subject FROM outgoing_mail ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        kept,
        [("old queued".to_owned(),), ("recent sent".to_owned(),)]
    );
}
