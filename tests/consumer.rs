//! The consumer: contracts kept in a JSON file, services used through the provider.

use portals::role::Role;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp, oversized_json_server, send};

/// As the consumer's operator.
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    send(app, method, path, ("admin", ADMIN_PASSWORD), body).await
}

#[tokio::test]
async fn a_subscriber_adds_a_contract_and_uses_services_through_the_provider() {
    let provider = TestApp::spawn(Role::Provider).await;
    let (_, mut issued) = call(&provider, reqwest::Method::POST, "/api/admin/v1/subscribers", Some(json!({
        "full_name": "Иванов Иван", "passport": "4510 123456", "email": "i@example.ru", "services": ["call", "sms"]
    })))
    .await;
    let consumer = TestApp::spawn(Role::Consumer).await;
    issued["provider_name"] = json!("Megafon");
    let (status, contract) = call(
        &consumer,
        reqwest::Method::POST,
        "/api/admin/v1/contracts",
        Some(issued.clone()),
    )
    .await;
    assert_eq!(status, 201, "{contract}");
    let id = contract["id"].as_i64().unwrap();

    // No money yet: the provider's 402 is passed through, and remembered.
    let (status, refusal) = call(
        &consumer,
        reqwest::Method::POST,
        &format!("/api/admin/v1/contracts/{id}/use"),
        Some(json!({"service": "call", "quantity": 1})),
    )
    .await;
    assert_eq!(status, 402);
    assert_eq!(refusal["error"]["code"], "insufficient_funds");

    // Pay 100.00 at the provider, then use.
    let (_, processing) = call(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        Some(json!({"processing_name": "p", "protocol": "osmp"})),
    )
    .await;
    let account = issued["account"].as_str().unwrap();
    provider
        .client
        .get(provider.url(&format!(
            "/osmp?command=pay&txn_id=1&account={account}&sum=100.00&txn_date=20261126101500"
        )))
        .basic_auth(
            processing["login"].as_str().unwrap(),
            processing["password"].as_str(),
        )
        .send()
        .await
        .unwrap();
    let (status, used) = call(
        &consumer,
        reqwest::Method::POST,
        &format!("/api/admin/v1/contracts/{id}/use"),
        Some(json!({"service": "call", "quantity": 2})),
    )
    .await;
    assert_eq!(status, 200, "{used}");
    assert_eq!(used["charged"]["amount"], 500);
    assert_eq!(used["balance"]["amount"], 9_500);

    let (_, stored) = call(
        &consumer,
        reqwest::Method::GET,
        &format!("/api/admin/v1/contracts/{id}"),
        None,
    )
    .await;
    assert_eq!(
        stored["uses"].as_array().unwrap().len(),
        2,
        "the history holds both uses"
    );
    assert_eq!(stored["uses"][1]["balance"]["amount"], 9_500);
    // The file on disk is complete JSON and holds the same.
    let file: Value =
        serde_json::from_slice(&std::fs::read(consumer.data_dir().join("contracts.json")).unwrap())
            .unwrap();
    assert_eq!(file["contracts"][0]["account"], account);

    // A provider that cannot be reached: 502 provider_unavailable.
    let mut moved = issued.clone();
    moved["usage_url"] = json!("http://127.0.0.1:9/api/usage/v1/usage");
    assert_eq!(
        call(
            &consumer,
            reqwest::Method::PUT,
            &format!("/api/admin/v1/contracts/{id}"),
            Some(moved)
        )
        .await
        .0,
        200
    );
    let (status, body) = call(
        &consumer,
        reqwest::Method::POST,
        &format!("/api/admin/v1/contracts/{id}/use"),
        Some(json!({"service": "call", "quantity": 1})),
    )
    .await;
    assert_eq!(status, 502);
    assert_eq!(body["error"]["code"], "provider_unavailable");

    assert_eq!(
        call(
            &consumer,
            reqwest::Method::DELETE,
            &format!("/api/admin/v1/contracts/{id}"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &consumer,
            reqwest::Method::GET,
            "/api/admin/v1/contracts",
            None
        )
        .await
        .1,
        json!([])
    );
}

#[tokio::test]
async fn bad_contracts_are_refused_and_a_corrupt_file_is_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/contracts.json"), b"{ not json").unwrap();
    let root = dir.path().to_owned();
    let consumer = TestApp::spawn_in(Role::Consumer, dir, Some(ADMIN_PASSWORD))
        .await
        .unwrap();
    let aside: Vec<_> = std::fs::read_dir(root.join("data"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("contracts.json.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the unreadable file is kept aside");
    assert_eq!(std::fs::read(aside[0].path()).unwrap(), b"{ not json");

    let (status, body) = call(&consumer, reqwest::Method::POST, "/api/admin/v1/contracts", Some(json!({
        "provider_name": "", "account": "1", "usage_url": "ftp://x", "login": "l", "password": "p", "services": ["tv"]
    })))
    .await;
    assert_eq!(status, 422);
    let fields = body["error"]["fields"].as_object().unwrap();
    assert!(
        fields.contains_key("provider_name")
            && fields.contains_key("usage_url")
            && fields.contains_key("services")
    );
    assert!(
        !root.join("data/contracts.json").exists(),
        "nothing was written"
    );
}

/// A provider's usage answer over the consumer's 64 KiB cap is no answer: `502
/// provider_unavailable` naming the cap, and no use remembered.
#[tokio::test]
async fn a_usage_answer_over_the_size_cap_is_no_answer() {
    let usage = oversized_json_server(
        json!({"charged": {"amount": 500, "currency": "RUB"}, "balance": {"amount": 9_500, "currency": "RUB"}}),
        128 * 1024,
    )
    .await;
    let consumer = TestApp::spawn(Role::Consumer).await;
    let (status, contract) = call(
        &consumer,
        reqwest::Method::POST,
        "/api/admin/v1/contracts",
        Some(json!({
            "provider_name": "Megafon", "account": "9161234567", "login": "l", "password": "p",
            "usage_url": format!("http://{usage}/api/usage/v1/usage"), "services": ["call"]
        })),
    )
    .await;
    assert_eq!(status, 201, "{contract}");
    let id = contract["id"].as_i64().unwrap();
    let (status, body) = call(
        &consumer,
        reqwest::Method::POST,
        &format!("/api/admin/v1/contracts/{id}/use"),
        Some(json!({"service": "call", "quantity": 1})),
    )
    .await;
    // Were the answer passed on, it would be 128 KiB: say only its start.
    let text = body.to_string();
    let shown = &text[..text.len().min(300)];
    assert_eq!(status, 502, "{shown}");
    assert_eq!(body["error"]["code"], "provider_unavailable");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("larger than 65536 bytes"), "{shown}");
    let (_, stored) = call(
        &consumer,
        reqwest::Method::GET,
        &format!("/api/admin/v1/contracts/{id}"),
        None,
    )
    .await;
    assert_eq!(
        stored["uses"].as_array().map(Vec::len),
        Some(0),
        "no use remembered"
    );
}
