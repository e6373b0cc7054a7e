//! One payment in detail at processing (`GET /api/admin/v1/payments/{id}`): a real
//! payment through a real provider shows the pay it sent with the provider's answer and
//! the ledger postings of its completion; unknown and malformed ids; and "retry now"
//! (`POST …/retry`), which makes a pending payment due for the retrier — refused to a
//! viewer, refused for a settled payment, audited, and crediting once.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, eventually, send};
use crate::processing::{Network, fee_of};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

async fn detail(n: &Network, id: &str) -> (u16, Value) {
    send(
        &n.processing,
        reqwest::Method::GET,
        &format!("/api/admin/v1/payments/{id}"),
        ADMIN,
        None,
    )
    .await
}

async fn retry(n: &Network, id: i64, login: (&str, &str)) -> (u16, Value) {
    send(
        &n.processing,
        reqwest::Method::POST,
        &format!("/api/admin/v1/payments/{id}/retry"),
        login,
        None,
    )
    .await
}

/// A staff login of `role` at processing: its password.
pub async fn staff(n: &Network, login: &str, role: &str) -> String {
    let (status, body) = send(
        &n.processing,
        reqwest::Method::POST,
        "/api/admin/v1/staff",
        ADMIN,
        Some(json!({"login": login, "role": role})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["password"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_paid_payment_shows_the_providers_answer_and_postings_that_balance() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    let (status, paid) = n.pay("T-1", 50_000).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["status"], "completed");
    let id = paid["payment_id"].as_i64().unwrap();

    let (status, d) = detail(&n, &id.to_string()).await;
    assert_eq!(status, 200, "{d}");
    // The list's row, field for field, at the top level.
    let (_, list) = send(
        &n.processing,
        reqwest::Method::GET,
        "/api/admin/v1/payments",
        ADMIN,
        None,
    )
    .await;
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap();
    for (field, value) in row.as_object().unwrap() {
        assert_eq!(&d[field], value, "{field}");
    }
    assert_eq!(d["status"], "completed");
    assert_eq!(d["agent_name"], "Терминал №1");
    assert_eq!(d["provider_name"], "Megafon");

    // The one pay, as the provider answered it: result 0 and its own transaction id,
    // the one the payment carries.
    let calls = d["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{d}");
    assert_eq!(d["calls_total"], 1);
    let call = &calls[0];
    assert_eq!(call["attempt"], 1);
    assert_eq!(call["command"], "pay");
    assert_eq!(call["result"], 0);
    assert!(call["error"].is_null(), "{call}");
    assert!(call["next_attempt_at"].is_null(), "settled by this call");
    assert!(call["prv_txn"].as_str().is_some_and(|p| !p.is_empty()));
    assert_eq!(call["prv_txn"], d["prv_txn"]);
    assert_eq!(call["message"], d["message"]);
    assert!(call["sent_at"].as_str().unwrap() <= call["answered_at"].as_str().unwrap());
    // The provider's number is its payment's id there.
    let (credited,): (i64,) =
        portals::server::db::query_as("SELECT id FROM payments WHERE txn_id = $1")
            .bind(id.to_string())
            .fetch_one(n.provider.db.as_ref().unwrap())
            .await
            .unwrap();
    assert_eq!(
        call["prv_txn"],
        credited.to_string(),
        "the provider's own number"
    );

    // The postings: the agent pays amount + fee, the provider is owed the amount, the
    // fee is revenue; they sum to zero.
    let fee = fee_of(50_000);
    let postings = d["postings"].as_array().unwrap();
    let posted = |account: &str| {
        postings
            .iter()
            .find(|p| p["account"] == account)
            .unwrap_or_else(|| panic!("no posting to {account}: {d}"))
            .clone()
    };
    assert_eq!(postings.len(), 3, "{d}");
    let agent = posted(&format!("agent:{}", n.agent_id));
    assert_eq!(agent["amount"], -(50_000 + fee));
    assert_eq!(agent["side"], "debit");
    let provider = posted(&format!("provider:{}", n.provider_id));
    assert_eq!(provider["amount"], 50_000);
    assert_eq!(provider["side"], "credit");
    assert_eq!(posted("fees")["amount"], fee);
    let sum: i64 = postings.iter().map(|p| p["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, 0);
    assert_eq!(d["audit"], json!([]));
    assert_eq!(d["retry_possible"], false);

    // A settled payment takes no retry.
    let (status, refused) = retry(&n, id, ADMIN).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "retry_refused");
}

#[tokio::test]
async fn an_unknown_payment_is_404_and_an_id_that_is_no_number_422() {
    let n = Network::start().await;
    let (status, body) = detail(&n, "999999").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    for bad in ["abc", "-1", "0", "1.5", "99999999999999999999"] {
        let (status, body) = detail(&n, bad).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
        assert!(body["error"]["fields"]["payment_id"].is_string(), "{body}");
    }
    let (status, body) = retry(&n, 999_999, ADMIN).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn retry_now_sends_a_waiting_payment_at_once_credits_it_once_and_is_audited() {
    // Backoff doubling from 1 s and no cap to speak of: after three attempts the fourth
    // is 4 s away.
    let n = Network::start_with(Duration::from_secs(1), |s| {
        s.retry_delay_max = Some(Duration::from_secs(3_600));
    })
    .await;
    n.top_up(100_000, "PP-1").await;
    n.proxy.break_link();
    let (status, paid) = n.pay("T-1", 20_000).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["status"], "pending");
    let id = paid["payment_id"].as_i64().unwrap();
    let waiting = eventually("three failed attempts, waiting for the fourth", || async {
        let (_, d) = detail(&n, &id.to_string()).await;
        if d["calls_total"] == 3 && d["retry_possible"] == true {
            Ok(d)
        } else {
            Err(d.to_string())
        }
    })
    .await;
    for call in waiting["calls"].as_array().unwrap() {
        assert!(call["result"].is_null(), "no answer came: {call}");
        assert!(
            call["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{call}"
        );
        assert!(call["next_attempt_at"].is_string());
    }
    assert_eq!(
        waiting["postings"],
        json!([]),
        "nothing posted while pending"
    );

    // A viewer may read the detail but not retry: 403, nothing changes.
    let vera = staff(&n, "vera", "viewer").await;
    let (status, refused) = retry(&n, id, ("vera", &vera)).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "forbidden_role");
    let (status, read) = send(
        &n.processing,
        reqwest::Method::GET,
        &format!("/api/admin/v1/payments/{id}"),
        ("vera", &vera),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(read["audit"], json!([]));

    // The provider is back; the operator does not wait for the fourth attempt.
    n.proxy.restore();
    let asked = Instant::now();
    let (status, queued) = retry(&n, id, ADMIN).await;
    assert_eq!(status, 202, "{queued}");
    let audit = queued["audit"].as_array().unwrap();
    assert_eq!(audit.len(), 1, "{queued}");
    assert_eq!(audit[0]["kind"], "payment_retry_requested");
    assert_eq!(audit[0]["login"], "admin");
    assert_eq!(audit[0]["object"], format!("payment {id}"));
    n.wait_status("T-1", "completed").await;
    let took = asked.elapsed();
    assert!(
        took < Duration::from_millis(2_500),
        "completed {took:?} after the retry, before its scheduled attempt"
    );
    // Once: one credit at the provider, one ledger entry, the calls in order.
    assert_eq!(n.subscriber_balance().await, 20_000);
    assert_eq!(n.provider_payments().await, 1);
    n.assert_ledger_verifies().await;
    let (_, d) = detail(&n, &id.to_string()).await;
    let calls = d["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 4, "{d}");
    assert_eq!(calls[3]["result"], 0);
    assert_eq!(calls[3]["attempt"], 4);
    let sum: i64 = d["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_i64().unwrap())
        .sum();
    assert_eq!((d["postings"].as_array().unwrap().len(), sum), (3, 0));
    // Asked again, now that it is settled: refused, and not audited.
    let (status, _) = retry(&n, id, ADMIN).await;
    assert_eq!(status, 409);
    let (_, d) = detail(&n, &id.to_string()).await;
    assert_eq!(d["audit"].as_array().unwrap().len(), 1);
}
