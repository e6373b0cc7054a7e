//! The terminal's cash that did not become a credited payment, and its cash box (issue
//! #14): a refused payment's cash gets a claim code on the receipt and is listed for the
//! operator, who pays it again, refunds it or writes it off — once, whatever the clicks;
//! a session abandoned with cash is listed after a restart; a collection of the cash box
//! takes exactly the bills stacked since the previous one, and its workbook lists them.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};

use crate::agent::Terminal;
use crate::helpers::{ADMIN_PASSWORD, TestApp, eventually, send};

/// A new subscriber at the test's provider: its account and password.
async fn new_subscriber(t: &Terminal, name: &str) -> (String, String) {
    let (status, subscriber) = send(
        &t.net.provider,
        reqwest::Method::POST,
        "/api/admin/v1/subscribers",
        ("admin", ADMIN_PASSWORD),
        Some(json!({
            "full_name": name, "passport": "4510 654321", "email": "p@example.ru", "services": ["call"]
        })),
    )
    .await;
    assert_eq!(status, 201, "{subscriber}");
    (
        subscriber["account"].as_str().unwrap().to_owned(),
        subscriber["password"].as_str().unwrap().to_owned(),
    )
}

async fn balance_of(t: &Terminal, account: &str, password: &str) -> i64 {
    let (_, b) = send(
        &t.net.provider,
        reqwest::Method::GET,
        "/api/usage/v1/balance",
        (account, password),
        None,
    )
    .await;
    b["balance"]["amount"].as_i64().unwrap()
}

/// The subscriber's contract closed at the provider: a payment to it fails for good (79).
pub(crate) async fn close_at_provider(t: &Terminal, account: &str) {
    let (status, body) = send(
        &t.net.provider,
        reqwest::Method::DELETE,
        &format!("/api/admin/v1/subscribers/{account}"),
        ("admin", ADMIN_PASSWORD),
        None,
    )
    .await;
    assert!(status < 300, "{status} {body}");
}

/// A session of `cash` (one bill per entry) paid after the account was closed: its
/// receipt, `failed`, with the claim code.
async fn refused_payment(t: &Terminal, account: &str, bills: &[(&str, i64)]) -> Value {
    let id = t.checked_session(account).await;
    for (event_id, amount) in bills {
        assert_eq!(t.bill(id, event_id, *amount).await.0, 200);
    }
    close_at_provider(t, account).await;
    let (status, receipt) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{id}/pay"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{receipt}");
    t.wait_receipt(id, "failed").await
}

fn is_claim_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 9
        && code.starts_with("K-")
        && b[6] == b'-'
        && b[2..6].iter().chain(&b[7..9]).all(u8::is_ascii_digit)
}

async fn unresolved(t: &Terminal, state: &str) -> Vec<Value> {
    let (status, list) = t
        .admin(
            reqwest::Method::GET,
            &format!("/api/admin/v1/unresolved-cash?state={state}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

async fn act(t: &Terminal, code: &str, action: &str, body: Value) -> (u16, Value) {
    t.admin(
        reqwest::Method::POST,
        &format!("/api/admin/v1/unresolved-cash/{code}/{action}"),
        Some(body),
    )
    .await
}

async fn agent_payments(t: &Terminal) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM payments")
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn refused_cash_is_paid_again_to_a_corrected_account_exactly_once_and_then_cannot_be_refunded()
 {
    let t = Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let account = t.net.account.clone();
    let receipt = refused_payment(&t, &account, &[("ev-1", 50_000), ("ev-2", 10_000)]).await;
    let code = receipt["claim_code"]
        .as_str()
        .expect("a claim code on the receipt");
    assert!(is_claim_code(code), "{code}");

    let open = unresolved(&t, "open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let claim = &open[0];
    assert_eq!(claim["claim_code"], code);
    assert_eq!(claim["origin"], "payment");
    assert_eq!(claim["cash"], 60_000);
    assert_eq!(claim["account"], account.as_str());
    assert_eq!(claim["payment_status"], "failed");
    assert_eq!(claim["agent_txn_id"], receipt["agent_txn_id"]);
    let events: Vec<&str> = claim["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    for event in [
        "bill_stacked",
        "payment_accepted",
        "payment_refused",
        "claim_opened",
    ] {
        assert!(events.contains(&event), "{event} in {events:?}");
    }

    // Values the provider's fields refuse are refused before anyone is asked, and write
    // nothing: the claim stays open.
    for (bad, field) in [
        (json!({"account": "12"}), "account"),
        (json!({"extra": {"bogus": "x"}}), "bogus"),
    ] {
        let (status, body) = act(&t, code, "pay-again", bad).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"]["fields"][field].is_string(), "{body}");
    }
    assert_eq!(agent_payments(&t).await, 1);
    assert_eq!(unresolved(&t, "open").await.len(), 1);

    // The customer had mistyped the number; the operator pays to the right one — and two
    // clicks land at once.
    let (right, password) = new_subscriber(&t, "Петров Пётр").await;
    let body = json!({"account": right});
    let (first, second) = tokio::join!(
        act(&t, code, "pay-again", body.clone()),
        act(&t, code, "pay-again", body.clone())
    );
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(second.0, 200, "{}", second.1);
    let new_txn = first.1["new_payment"]["agent_txn_id"].clone();
    assert!(new_txn.is_string(), "{}", first.1);
    assert_eq!(second.1["new_payment"]["agent_txn_id"], new_txn);
    assert_eq!(first.1["resolution"], "paid_again");
    assert_eq!(first.1["resolved_by"], "admin");
    assert!(first.1["resolved_at"].is_string());

    eventually("the new payment to complete", || async {
        let (_, claim) = t
            .admin(
                reqwest::Method::GET,
                &format!("/api/admin/v1/unresolved-cash/{code}"),
                None,
            )
            .await;
        if claim["new_payment"]["status"] == "completed" {
            Ok(())
        } else {
            Err(claim.to_string())
        }
    })
    .await;
    // Once more, after it completed: the same payment, nothing new.
    let (status, again) = act(&t, code, "pay-again", body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["new_payment"]["agent_txn_id"], new_txn);
    assert_eq!(again["new_payment"]["status"], "completed");
    // The two clicks and the repeat are one audit entry: who paid which cash to where.
    let (_, entries) = t
        .admin(
            reqwest::Method::GET,
            "/api/admin/v1/audit?kind=cash_paid_again",
            None,
        )
        .await;
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["login"], "admin");
    assert_eq!(entries[0]["object"], format!("unresolved cash {code}"));
    let after: Value = serde_json::from_str(entries[0]["after"].as_str().unwrap()).unwrap();
    assert_eq!(after["account"], right.as_str());
    assert_eq!(after["resolution"], "paid_again");
    assert_eq!(after["cash"], "600.00");
    assert_eq!(
        agent_payments(&t).await,
        2,
        "the refused one and one new one"
    );
    assert_eq!(balance_of(&t, &right, &password).await, 60_000);

    // Paid again: the same cash cannot also be handed back or written off.
    let (status, refused) = act(&t, code, "refund", json!({})).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "claim_resolved");
    let (status, _) = act(&t, code, "write-off", json!({"reason": "x"})).await;
    assert_eq!(status, 409);
    assert!(unresolved(&t, "open").await.is_empty());
    let (resolution, by, new_payment): (String, String, Option<i64>) = sqlx::query_as(
        "SELECT resolution, resolved_by, new_payment_id FROM cash_claims WHERE code = $1",
    )
    .bind(code)
    .fetch_one(t.agent.pool.as_ref().unwrap())
    .await
    .unwrap();
    assert_eq!((resolution.as_str(), by.as_str()), ("paid_again", "admin"));
    assert!(new_payment.is_some());
    t.net.assert_ledger_verifies().await;
}

#[tokio::test]
async fn refunded_cash_cannot_be_paid_again_and_racing_actions_resolve_cash_once() {
    let t = Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let (first_account, _) = new_subscriber(&t, "Сидоров Сидор").await;
    let refunded = refused_payment(&t, &first_account, &[("a-1", 10_000)]).await;
    let code = refunded["claim_code"].as_str().unwrap();

    let (status, done) = act(&t, code, "refund", json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["resolution"], "refunded");
    assert_eq!(done["resolved_by"], "admin");
    // A repeat changes nothing (the same time stays).
    let (status, repeat) = act(&t, code, "refund", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(repeat["resolved_at"], done["resolved_at"]);
    let (right, right_password) = new_subscriber(&t, "Верный Павел").await;
    let (status, refused) = act(&t, code, "pay-again", json!({"account": right})).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "claim_resolved");
    assert_eq!(agent_payments(&t).await, 1, "no payment was added");
    // Writing off needs a reason, and a refunded claim is not written off either.
    let (second_account, _) = new_subscriber(&t, "Вторый Иван").await;
    let raced = refused_payment(&t, &second_account, &[("b-1", 50_000)]).await;
    let raced_code = raced["claim_code"].as_str().unwrap();
    assert_ne!(raced_code, code);
    let (status, body) = act(&t, raced_code, "write-off", json!({"reason": "  "})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["reason"].is_string());

    // Six operators' clicks at once on the second claim: one kind of action wins.
    let pay = json!({"account": right});
    let off = json!({"reason": "банкнота признана поддельной"});
    let results = futures::future::join_all([
        act(&t, raced_code, "pay-again", pay.clone()),
        act(&t, raced_code, "refund", json!({})),
        act(&t, raced_code, "write-off", off.clone()),
        act(&t, raced_code, "pay-again", pay),
        act(&t, raced_code, "refund", json!({})),
        act(&t, raced_code, "write-off", off),
    ])
    .await;
    let (resolution,): (String,) =
        sqlx::query_as("SELECT resolution FROM cash_claims WHERE code = $1")
            .bind(raced_code)
            .fetch_one(t.agent.pool.as_ref().unwrap())
            .await
            .unwrap();
    for (status, body) in &results {
        if *status == 200 {
            assert_eq!(body["resolution"], resolution.as_str(), "{body}");
        } else {
            assert_eq!(*status, 409, "{body}");
            assert_eq!(body["error"]["code"], "claim_resolved");
        }
    }
    let winners = results.iter().filter(|(s, _)| *s == 200).count();
    assert!((1..=2).contains(&winners), "{results:?}");
    let paid_again = i64::from(resolution == "paid_again");
    assert_eq!(agent_payments(&t).await, 2 + paid_again);
    if paid_again == 1 {
        eventually("the pay-again to be credited", || async {
            let b = balance_of(&t, &right, &right_password).await;
            if b == 50_000 {
                Ok(())
            } else {
                Err(b.to_string())
            }
        })
        .await;
    } else {
        assert_eq!(balance_of(&t, &right, &right_password).await, 0);
    }
}

#[tokio::test]
async fn a_session_abandoned_with_cash_is_listed_after_a_restart_and_closed_for_the_kiosk() {
    let t = Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let id = t.checked_session(&t.net.account).await;
    assert_eq!(t.bill(id, "ab-1", 100_000).await.0, 200);
    assert_eq!(t.bill(id, "ab-2", 50_000).await.0, 200);
    assert!(
        unresolved(&t, "all").await.is_empty(),
        "a live session is not swept"
    );

    // The page went away an hour ago; then the terminal restarted.
    let pool = t.agent.pool.clone().unwrap();
    for sql in [
        "UPDATE sessions SET created_at = '2025-01-01T00:00:00.000000Z'",
        "UPDATE bills SET received_at = '2025-01-01T00:00:01.000000Z'",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let Terminal { net, agent, link } = t;
    let dir = agent.stop().await;
    let agent = TestApp::spawn_with(
        portals::role::Role::Agent,
        dir,
        Some(ADMIN_PASSWORD),
        |_| {},
    )
    .await
    .unwrap();
    let t = Terminal { net, agent, link };
    let claim = eventually("the abandoned session to be listed", || async {
        let open = unresolved(&t, "open").await;
        open.into_iter()
            .find(|c| c["session_id"] == id)
            .ok_or_else(|| "not listed".to_owned())
    })
    .await;
    assert_eq!(claim["origin"], "abandoned_session");
    assert_eq!(claim["cash"], 150_000);
    assert_eq!(claim["account"], t.net.account.as_str());
    assert!(is_claim_code(claim["claim_code"].as_str().unwrap()));

    // The kiosk can no longer pay it or add to it: a late bill is unassigned cash.
    assert_eq!(t.session(id).await["status"], "abandoned");
    let (status, body) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{id}/pay"),
            None,
        )
        .await;
    assert_ne!(status, 200, "{body}");
    let (_, late) = t.bill(id, "ab-3", 10_000).await;
    assert_eq!(late["unassigned"], "session_closed", "{late}");
    let open = unresolved(&t, "open").await;
    assert!(
        open.iter()
            .any(|c| c["origin"] == "unassigned_bill" && c["bill_event_id"] == "ab-3"),
        "{open:?}"
    );

    // The operator pays it to the account the customer typed.
    let code = claim["claim_code"].as_str().unwrap();
    let (status, paid) = act(&t, code, "pay-again", json!({})).await;
    assert_eq!(status, 200, "{paid}");
    eventually("the abandoned cash to be credited", || async {
        let b = t.net.subscriber_balance().await;
        if b == 150_000 {
            Ok(())
        } else {
            Err(b.to_string())
        }
    })
    .await;
}

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an xlsx file");
    let range = book
        .worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"));
    range.rows().map(|r| r.to_vec()).collect()
}

async fn cash_box(t: &Terminal) -> Value {
    let (status, body) = t
        .admin(reqwest::Method::GET, "/api/admin/v1/cash-box", None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn collect(t: &Terminal, previous: Value, counted: i64) -> (u16, Value) {
    t.admin(
        reqwest::Method::POST,
        "/api/admin/v1/encashments",
        Some(json!({"previous": previous, "counted": counted, "note": "кассета №1"})),
    )
    .await
}

#[tokio::test]
async fn an_encashment_takes_the_bills_stacked_since_the_previous_and_the_next_starts_from_zero() {
    let t = Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let first = t.checked_session(&t.net.account).await;
    assert_eq!(t.bill(first, "e-1", 100_000).await.0, 200);
    assert_eq!(t.bill(first, "e-2", 50_000).await.0, 200);
    let (status, _) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{first}/pay"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // A bill found in the stacker with no session: in the box, in no session.
    let (status, body) = t
        .terminal(
            reqwest::Method::POST,
            "/api/terminal/v1/bills",
            Some(json!({"event_id": "e-3", "amount": 10_000, "session_id": null})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let boxed = cash_box(&t).await;
    assert_eq!(boxed["previous"], Value::Null);
    assert_eq!(boxed["bill_count"], 3);
    assert_eq!(boxed["expected"], 160_000);
    assert_eq!(boxed["sessions_cash"], 150_000);
    assert_eq!(boxed["unassigned_cash"], 10_000);
    assert_eq!(boxed["difference"], 10_000, "shown, not hidden");
    assert_eq!(
        boxed["denominations"],
        json!([
            {"amount": 10_000, "count": 1, "sum": 10_000},
            {"amount": 50_000, "count": 1, "sum": 50_000},
            {"amount": 100_000, "count": 1, "sum": 100_000},
        ])
    );

    // Counted 10 ₽ short: recorded as a discrepancy.
    let (status, done) = collect(&t, Value::Null, 159_000).await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["expected"], 160_000);
    assert_eq!(done["counted"], 159_000);
    assert_eq!(done["discrepancy"], -1_000);
    assert_eq!(done["bill_count"], 3);
    assert_eq!(done["collected_by"], "admin");
    let first_id = done["encashment_id"].clone();
    // The same form sent twice records it once.
    let (status, twice) = collect(&t, Value::Null, 159_000).await;
    assert_eq!(status, 409, "{twice}");
    assert_eq!(twice["error"]["code"], "encashment_conflict");

    let emptied = cash_box(&t).await;
    assert_eq!(emptied["bill_count"], 0);
    assert_eq!(emptied["expected"], 0);
    assert_eq!(emptied["previous"], first_id);

    let second = t.checked_session(&t.net.account).await;
    assert_eq!(t.bill(second, "e-4", 500_000).await.0, 200);
    let (status, next) = collect(&t, first_id.clone(), 500_000).await;
    assert_eq!(status, 201, "{next}");
    assert_eq!(next["expected"], 500_000, "only what came after the first");
    assert_eq!(next["bill_count"], 1);
    assert_eq!(next["discrepancy"], 0);
    let (_, all) = t
        .admin(reqwest::Method::GET, "/api/admin/v1/encashments", None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);

    // The first collection's workbook: its three bills and the session they went into.
    let response = t
        .agent
        .client
        .get(
            t.agent
                .url(&format!("/api/admin/v1/encashments/{first_id}/report.xlsx")),
        )
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let bills = sheet(&bytes, "Купюры");
    let ids: Vec<String> = bills[1..4].iter().map(|r| r[0].to_string()).collect();
    assert_eq!(ids, ["e-1", "e-2", "e-3"]);
    assert_eq!(bills[4][0].to_string(), "Итого");
    assert_eq!(bills[4][2], Data::Float(1_600.0));
    let sessions = sheet(&bytes, "Сессии");
    assert_eq!(sessions.len(), 2, "one session: {sessions:?}");
    assert_eq!(sessions[1][0], Data::Float(first as f64));
    let summary = sheet(&bytes, "Инкассация");
    assert!(
        summary
            .iter()
            .any(|r| r.first().map(|c| c.to_string()).as_deref()
                == Some("Расхождение (пересчитано − ожидалось), ₽")
                && r.get(1) == Some(&Data::Float(-10.0))),
        "{summary:?}"
    );
}
