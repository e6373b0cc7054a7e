//! A provider's answer counts only as the answer to what processing sent (wire.md "A
//! provider's answer is bound to its request"). A forger stands where the provider's
//! endpoint is: it answers `result 0` for another `txn_id`, or with another sum, or a
//! credit with no sum at all. Processing must count none of them: the payment stays
//! pending with the mismatch in its message, nothing is settled; when the real provider's
//! answers come back through, it completes exactly once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde_json::json;
use shared::money::Kopecks;
use shared::wire::osmp::Answer;

use crate::helpers::{ADMIN_PASSWORD, send};
use crate::processing::Network;

/// Pass the real provider's answer through unchanged.
const HONEST: u8 = 0;
/// `result 0` for a `txn_id` one higher than the one asked.
const OTHER_TXN: u8 = 1;
/// `result 0`, the right `txn_id`, the sum plus one rouble.
const OTHER_SUM: u8 = 2;
/// `result 0`, the right `txn_id`, no sum at all.
const NO_SUM: u8 = 3;

#[derive(Clone)]
struct Forger {
    mode: Arc<AtomicU8>,
    upstream: String,
    client: reqwest::Client,
}

async fn answer(State(f): State<Forger>, headers: HeaderMap, RawQuery(query): RawQuery) -> String {
    let query = query.unwrap_or_default();
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let txn_id = param("txn_id").unwrap_or_default();
    let sum = param("sum").and_then(|s| Kopecks::parse(&s).ok());
    let forged = |osmp_txn_id: String, sum: Option<Kopecks>| {
        Answer {
            osmp_txn_id: Some(osmp_txn_id),
            prv_txn: Some(77),
            sum,
            result: 0,
            comment: "OK".into(),
        }
        .to_xml()
    };
    match f.mode.load(Ordering::SeqCst) {
        OTHER_TXN => {
            let other = txn_id.parse::<u64>().map_or(1, |n| n + 1);
            forged(other.to_string(), sum)
        }
        OTHER_SUM => forged(txn_id, sum.and_then(|s| s.checked_add(Kopecks::new(100)))),
        NO_SUM => forged(txn_id, None),
        _ => {
            let mut request = f.client.get(format!("{}?{query}", f.upstream));
            if let Some(auth) = headers.get(axum::http::header::AUTHORIZATION) {
                request = request.header(axum::http::header::AUTHORIZATION, auth.clone());
            }
            request.send().await.unwrap().text().await.unwrap()
        }
    }
}

/// Starts the forger in front of `upstream` (the real provider's OSMP URL).
async fn start_forger(upstream: String) -> (SocketAddr, Arc<AtomicU8>) {
    let mode = Arc::new(AtomicU8::new(OTHER_TXN));
    let forger = Forger {
        mode: mode.clone(),
        upstream,
        client: crate::helpers::plain_client(),
    };
    let app = axum::Router::new()
        .route("/osmp", axum::routing::get(answer))
        .with_state(forger);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, mode)
}

#[tokio::test]
async fn forged_provider_answers_are_not_counted_and_the_real_one_pays_once() {
    let n = Network::start().await;
    let (forger, mode) = start_forger(n.provider.url("/osmp")).await;
    // The same provider contract, reached through the forger.
    let (_, contract) = send(
        &n.processing,
        reqwest::Method::GET,
        &format!("/api/admin/v1/providers/{}", n.provider_id),
        ("admin", ADMIN_PASSWORD),
        None,
    )
    .await;
    let (status, _) = send(
        &n.processing,
        reqwest::Method::PATCH,
        &format!("/api/admin/v1/providers/{}", n.provider_id),
        ("admin", ADMIN_PASSWORD),
        Some(json!({"endpoint_url": format!("http://{forger}/osmp")})),
    )
    .await;
    assert_eq!(status, 200, "endpoint moved to the forger ({contract})");
    n.top_up(100_000, "F-1").await;

    // A check answered for another txn_id is no answer: 502 naming the mismatch.
    let (status, check) = n
        .agent(
            reqwest::Method::POST,
            "/api/agent/v1/checks",
            Some(json!({"provider_id": n.provider_id, "account": n.account})),
        )
        .await;
    assert_eq!(status, 502, "{check}");
    assert_eq!(check["error"]["code"], "provider_unavailable");
    assert!(
        check["error"]["message"]
            .as_str()
            .unwrap()
            .contains("txn_id"),
        "{check}"
    );

    let (status, payment) = n.pay("F-1", 20_000).await;
    assert_eq!(status, 201);
    assert_eq!(payment["status"], "pending", "{payment}");
    assert!(
        payment["message"]
            .as_str()
            .unwrap()
            .contains("answer not counted"),
        "{payment}"
    );
    for forgery in [OTHER_SUM, NO_SUM] {
        mode.store(forgery, Ordering::SeqCst);
        // Let the retrier ask the forger a few times in this mode.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let still = n.wait_status("F-1", "pending").await;
        assert!(
            still["message"].as_str().unwrap().contains("sum"),
            "{still}"
        );
    }
    assert_eq!(n.subscriber_balance().await, 0, "nothing credited");
    assert_eq!(
        n.provider_payments().await,
        0,
        "the provider never saw a pay"
    );
    assert_eq!(
        n.agent_balance().await["reserved"]["amount"],
        20_000 + crate::processing::fee_of(20_000),
        "the reservation is held, not posted"
    );
    n.assert_ledger_verifies().await;

    mode.store(HONEST, Ordering::SeqCst);
    let paid = n.wait_status("F-1", "completed").await;
    assert_ne!(
        paid["prv_txn"], "77",
        "the real provider's id, not the forger's"
    );
    assert_eq!(n.subscriber_balance().await, 20_000);
    assert_eq!(n.provider_payments().await, 1);
    assert_eq!(n.agent_balance().await["reserved"]["amount"], 0);
    n.assert_ledger_verifies().await;
}
