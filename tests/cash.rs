//! Cash comes only from the validator (issue #13): kiosk-shell reports each stacked bill
//! with its own terminal credential; the kiosk page's realm cannot add cash; a bill counts
//! only as a denomination of the unit's bill table, once per event; cash with no open
//! session is kept for the operator; the validator is enabled only up to what the deposit
//! and the provider allow; a session pays only after a successful check.

use serde_json::{Value, json};

use crate::agent::Terminal;
use crate::helpers::{KIOSK_PASSWORD, TERMINAL_PASSWORD, eventually, send};
use crate::kiosk_shell::KioskShell;
use crate::processing::fee_of;
use portals::chaos::proxy::ChaosProxy;

async fn bill_rows(t: &Terminal) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bills")
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn the_kiosk_credential_cannot_add_cash_and_the_terminal_credential_cannot_sell() {
    let t = Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let id = t.checked_session(&t.net.account).await;
    let bill = json!({"event_id": "forged-1", "amount": 50_000, "session_id": id});

    // The kiosk page's old way in is gone…
    let (status, body) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{id}/bills"),
            Some(bill.clone()),
        )
        .await;
    assert!(status == 404 || status == 405, "{status} {body}");
    // …so is the page's server function that credited a bill…
    let form = t
        .agent
        .client
        .post(t.agent.url("/ui/kiosk/bill"))
        .basic_auth("kiosk", Some(KIOSK_PASSWORD))
        .form(&[
            ("session_id", id.to_string()),
            ("event_id", "forged-2".into()),
            ("amount", "50000".into()),
        ])
        .send()
        .await
        .unwrap();
    assert!(!form.status().is_success(), "{form:?}");
    // …and the terminal realm does not take the kiosk's credential.
    for (method, path) in [
        (reqwest::Method::POST, "/api/terminal/v1/bills"),
        (reqwest::Method::PUT, "/api/terminal/v1/validator"),
        (reqwest::Method::GET, "/api/terminal/v1/limit"),
    ] {
        let (status, _) = send(
            &t.agent,
            method,
            path,
            ("kiosk", KIOSK_PASSWORD),
            Some(bill.clone()),
        )
        .await;
        assert_eq!(status, 401, "{path} with the kiosk's credential");
    }
    assert_eq!(t.session(id).await["cash"], 0);
    assert_eq!(bill_rows(&t).await, 0, "nothing was written");

    // The terminal's credential reports cash, and does nothing else.
    let terminal = ("terminal", TERMINAL_PASSWORD);
    for (method, path) in [
        (reqwest::Method::POST, "/api/kiosk/v1/sessions".to_owned()),
        (reqwest::Method::POST, "/api/kiosk/v1/checks".to_owned()),
        (
            reqwest::Method::POST,
            format!("/api/kiosk/v1/sessions/{id}/pay"),
        ),
        (reqwest::Method::GET, "/api/admin/v1/status".to_owned()),
        (reqwest::Method::PUT, "/api/admin/v1/fee".to_owned()),
        (reqwest::Method::POST, "/ui/kiosk/pay".to_owned()),
        (reqwest::Method::GET, "/kiosk".to_owned()),
    ] {
        let (status, _) = send(
            &t.agent,
            method,
            &path,
            terminal,
            Some(json!({"provider_id": t.net.provider_id, "account": t.net.account})),
        )
        .await;
        assert_eq!(status, 401, "{path} with the terminal's credential");
    }
    let (status, counted) = t.bill(id, "real-1", 50_000).await;
    assert_eq!(status, 200, "{counted}");
    assert_eq!(t.session(id).await["cash"], 50_000);
}

#[tokio::test]
async fn only_denominations_of_the_validators_table_count_once_and_nothing_overflows() {
    let t = Terminal::start(1_000_000).await;
    let id = t.checked_session(&t.net.account).await;
    // Before kiosk-shell has reported the table, no value can be verified.
    let (status, body) = t.bill(id, "ev-0", 10_000).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "bill_table_unknown");
    t.report_bill_table().await;

    for (event_id, amount) in [
        ("ev-max", json!(i64::MAX)),
        ("ev-odd", json!(12_345)),
        ("ev-neg", json!(-10_000)),
        ("ev-zero", json!(0)),
        ("ev-text", json!("500")),
    ] {
        let (status, body) = send(
            &t.agent,
            reqwest::Method::POST,
            "/api/terminal/v1/bills",
            ("terminal", TERMINAL_PASSWORD),
            Some(json!({"event_id": event_id, "amount": amount, "session_id": id})),
        )
        .await;
        assert_eq!(status, 422, "{amount}: {body}");
    }
    for event_id in ["", "a b", &"x".repeat(65)] {
        assert_eq!(t.bill(id, event_id, 10_000).await.0, 422, "{event_id:?}");
    }
    assert_eq!(bill_rows(&t).await, 0, "a refused bill writes nothing");

    // A forged table with a huge denomination is refused, and the real one stays.
    let (status, _) = t
        .terminal(
            reqwest::Method::PUT,
            "/api/terminal/v1/validator",
            Some(json!({"state": "idle", "bill_table": [{"bill_type": 1, "amount": i64::MAX}]})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        t.bill(id, "ev-max", i64::MAX).await.0,
        422,
        "i64::MAX is still no denomination"
    );

    let (status, first) = t.bill(id, "ev-1", 500_000).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["counted"], true);
    let (_, again) = t.bill(id, "ev-1", 500_000).await;
    assert_eq!(again["counted"], false);
    assert_eq!(again["session_id"], id);
    assert_eq!(t.session(id).await["cash"], 500_000);
    assert_eq!(bill_rows(&t).await, 1);
}

#[tokio::test]
async fn cash_with_no_open_session_is_kept_unassigned_for_the_operator() {
    let t = Terminal::start(10_000_000).await;
    t.report_bill_table().await;
    let id = t.checked_session(&t.net.account).await;
    let max = t.session(id).await["max_amount"].as_i64().unwrap();
    // Fill the session up to the provider's maximum with 5000 ₽ bills.
    for n in 0..max / 500_000 {
        let (_, counted) = t.bill(id, &format!("fill-{n}"), 500_000).await;
        assert_eq!(counted["session_id"], id, "{counted}");
    }
    let (_, over) = t.bill(id, "over", 500_000).await;
    assert_eq!(over["session_id"], Value::Null);
    assert_eq!(over["unassigned"], "over_session_max");
    let (_, none) = t
        .terminal(
            reqwest::Method::POST,
            "/api/terminal/v1/bills",
            Some(json!({"event_id": "lonely", "amount": 10_000})),
        )
        .await;
    assert_eq!(none["unassigned"], "no_session", "{none}");
    let (_, stranger) = t.bill(999, "stranger", 5_000).await;
    assert_eq!(stranger["unassigned"], "session_closed", "{stranger}");

    assert_eq!(t.session(id).await["cash"], max / 500_000 * 500_000);
    let (status, unassigned) = t
        .admin(reqwest::Method::GET, "/api/admin/v1/unassigned-cash", None)
        .await;
    assert_eq!(status, 200);
    let mut seen: Vec<(String, i64, String)> = unassigned
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["event_id"].as_str().unwrap().to_owned(),
                b["amount"].as_i64().unwrap(),
                b["unassigned"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("lonely".into(), 10_000, "no_session".into()),
            ("over".into(), 500_000, "over_session_max".into()),
            ("stranger".into(), 5_000, "session_closed".into()),
        ]
    );
}

#[tokio::test]
async fn a_session_pays_only_after_a_successful_check_of_its_account() {
    let t = Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    // Opened without a check (the page always checks; a hostile client need not).
    let (status, session) = t.open_session(&t.net.account).await;
    assert_eq!(status, 201, "{session}");
    let unchecked = session["session_id"].as_i64().unwrap();
    t.bill(unchecked, "ev-1", 50_000).await;
    let pay = |id: i64| {
        let t = &t;
        async move {
            t.kiosk(
                reqwest::Method::POST,
                &format!("/api/kiosk/v1/sessions/{id}/pay"),
                None,
            )
            .await
        }
    };
    let (status, refused) = pay(unchecked).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "check_required");
    let (_, payments) = t
        .admin(reqwest::Method::GET, "/api/admin/v1/payments", None)
        .await;
    assert_eq!(payments, json!([]), "no payment was stored");
    assert_eq!(t.session(unchecked).await["status"], "open");

    // A check of the same account after the session was opened does not vouch for it;
    // a session opened after the check does.
    t.check(&t.net.account).await;
    assert_eq!(pay(unchecked).await.0, 409);
    let checked = t.checked_session(&t.net.account).await;
    t.bill(checked, "ev-2", 50_000).await;
    let (status, receipt) = pay(checked).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["status"], "completed");
    assert_eq!(t.net.subscriber_balance().await, 50_000);
}

#[tokio::test]
async fn the_limit_is_what_the_deposit_less_the_outbox_covers_after_fees() {
    // 1000 ₽ of deposit, processing's fee (tests: FEE_BP) on top of each amount.
    let t = Terminal::start(100_000).await;
    t.report_bill_table().await;
    let first = t.checked_session(&t.net.account).await;
    let covered = |cash: i64, deposit: i64| cash + fee_of(cash) <= deposit;
    let now = limit(&t).await;
    assert_eq!(now["session_id"], first);
    let max = now["max_amount"].as_i64().unwrap();
    assert!(covered(max, 100_000) && !covered(max + 1, 100_000), "{now}");
    assert_eq!(
        t.session(first).await["acceptable"],
        max,
        "the page shows it"
    );

    // 500 ₽ in, and the payment stuck in the outbox: the deposit no longer has it.
    t.bill(first, "ev-1", 50_000).await;
    assert_eq!(limit(&t).await["max_amount"], max - 50_000);
    let second = t.checked_session(&t.net.account).await;
    t.link.break_link();
    let (_, receipt) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{first}/pay"),
            None,
        )
        .await;
    assert_eq!(receipt["status"], "queued", "{receipt}");
    let now = limit(&t).await;
    assert_eq!(now["session_id"], second, "the newest open session");
    let left = 100_000 - 50_000 - fee_of(50_000);
    let max = now["max_amount"].as_i64().unwrap();
    assert!(covered(max, left) && !covered(max + 1, left), "{now}");
}

/// What kiosk-shell hears when it asks how much the validator may take.
async fn limit(t: &Terminal) -> Value {
    let (status, limit) = t
        .terminal(reqwest::Method::GET, "/api/terminal/v1/limit", None)
        .await;
    assert_eq!(status, 200, "{limit}");
    limit
}

/// Waits until kiosk-shell has told the agent the unit's bill table.
async fn table_reported(t: &Terminal) {
    eventually("kiosk-shell to report the bill table", || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM validator_bill_table")
            .fetch_one(t.agent.pool.as_ref().unwrap())
            .await
            .unwrap();
        if n > 0 {
            Ok(())
        } else {
            Err("no table".into())
        }
    })
    .await;
}

async fn cash_reaches(t: &Terminal, session: i64, cash: i64) {
    eventually(&format!("{cash} kopecks in session {session}"), || async {
        let view = t.session(session).await;
        if view["cash"] == cash {
            Ok(())
        } else {
            Err(view.to_string())
        }
    })
    .await;
}

#[tokio::test]
async fn kiosk_shell_reports_a_bill_through_an_agent_outage_and_its_own_restart() {
    let t = Terminal::start(1_000_000).await;
    // Between kiosk-shell and the agent.
    let front = ChaosProxy::start(t.agent.addr)
        .await
        .expect("the proxy listens");
    let journal = tempfile::tempdir().unwrap();
    let shell = KioskShell::start(front.addr, journal.path());
    table_reported(&t).await;
    let id = t.checked_session(&t.net.account).await;
    let mut page = shell.page().await;
    page.send(json!({"type": "enable", "max_amount": 100_000}))
        .await;
    page.until(|m| m["type"] == "state" && m["state"] == "idle")
        .await;

    // The agent goes out of reach; a 500 ₽ bill is stacked meanwhile.
    front.break_link();
    shell.simulate("insert-rub 500").await;
    let bill = page.until(|m| m["type"] == "bill").await;
    assert_eq!(bill["amount"], 50_000);
    assert_eq!(
        t.session(id).await["cash"],
        0,
        "the agent has not heard of it"
    );
    assert_eq!(shell.journaled_bills().len(), 1);
    assert!(shell.journal_lines("delivered.jsonl").is_empty());
    // The shell dies with the bill undelivered; the agent comes back; so does the shell.
    drop(page);
    shell.kill();
    front.restore();
    let shell = KioskShell::start(front.addr, journal.path());
    cash_reaches(&t, id, 50_000).await;
    let delivered = eventually("the agent's answer in the journal", || async {
        match shell.journal_lines("delivered.jsonl").as_slice() {
            [one] => Ok(one.clone()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(delivered.contains(bill["event_id"].as_str().unwrap()));
    assert_eq!(bill_rows(&t).await, 1, "counted once");
}

#[tokio::test]
async fn a_bill_above_what_the_agent_allows_is_returned_not_stacked() {
    // 200 ₽ of deposit: the page asks for 5000 ₽, the agent allows under 200 ₽.
    let t = Terminal::start(20_000).await;
    let journal = tempfile::tempdir().unwrap();
    let shell = KioskShell::start(t.agent.addr, journal.path());
    table_reported(&t).await;
    let id = t.checked_session(&t.net.account).await;
    let allowed = t.session(id).await["acceptable"].as_i64().unwrap();
    assert!(allowed > 10_000 && allowed < 20_000, "{allowed}");
    let mut page = shell.page().await;
    page.send(json!({"type": "enable", "max_amount": 500_000}))
        .await;
    page.until(|m| m["type"] == "state" && m["state"] == "idle")
        .await;
    // A 500 ₽ bill (above the limit), then a 100 ₽ one once the unit is idle again.
    shell
        .simulate("insert-rub 500\nwait 3000\ninsert-rub 100")
        .await;
    let bill = page.until(|m| m["type"] == "bill").await;
    assert_eq!(bill["amount"], 10_000, "only the 100 ₽ bill is stacked");
    cash_reaches(&t, id, 10_000).await;
    let bills = shell.journaled_bills();
    assert_eq!(bills.len(), 1, "{bills:?}");
    assert_eq!(bills[0]["session_id"], id);
    assert_eq!(bill_rows(&t).await, 1);
}
