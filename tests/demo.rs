//! `paymesh demo` end to end, through its real processes: six participants and
//! kiosk-shell with the simulated CashCode validator, on the demo's fixed ports.
//! A subscriber with no money is refused → a banknote goes into the simulator → the
//! kiosk pays → the subscriber's balance rises by the amount, the agent's falls by the
//! amount and the processing fee, the ledger verifies → the subscriber's calls are
//! charged and the balance falls → Ctrl-C stops everything cleanly.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{eventually, send_to};

const CONSUMER: &str = "http://127.0.0.1:8401";
const PROCESSING: &str = "http://127.0.0.1:8403";
const AGENT: &str = "http://127.0.0.1:8404";
const BRIDGE: &str = "127.0.0.1:8910";

/// The demo as a process; stopped with SIGTERM (as Ctrl-C) so that it stops its own
/// children: killing it outright would leave them holding the demo's ports.
struct Demo {
    child: Child,
}

impl Demo {
    fn start(dir: &Path) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_paymesh"))
            .args(["demo", "--no-window", "--data-dir"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let up = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.contains("Press Ctrl-C to stop"));
        assert!(up, "the demo did not come up");
        std::thread::spawn(move || lines.for_each(drop));
        Demo { child }
    }

    fn stop(&mut self) -> Option<i32> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

fn secret(dir: &Path, key: &str, file: &str) -> String {
    std::fs::read_to_string(dir.join(key).join(file))
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test]
async fn the_demo_network_takes_a_banknote_at_the_kiosk_and_the_subscriber_pays_for_calls() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let mut demo = Demo::start(dir);
    let client = reqwest::Client::new();
    let consumer_pw = secret(dir, "consumer", "admin-password");
    let processing_pw = secret(dir, "processing", "admin-password");
    let kiosk_pw = secret(dir, "agent", "kiosk-password");
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    // The consumer's Megafon contract, and the subscriber's balance through it.
    let (_, contracts) = send_to(
        &client,
        get.clone(),
        &format!("{CONSUMER}/api/admin/v1/contracts"),
        ("admin", &consumer_pw),
        None,
    )
    .await;
    let megafon = contracts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_name"] == "Megafon")
        .unwrap()
        .clone();
    let balance_url = format!(
        "{}balance",
        megafon["usage_url"]
            .as_str()
            .unwrap()
            .trim_end_matches("usage")
    );
    // The API never sends a stored password back; the consumer's file keeps it.
    let file: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("consumer").join("contracts.json")).unwrap(),
    )
    .unwrap();
    let on_file = file["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == megafon["id"])
        .unwrap()
        .clone();
    assert!(megafon.get("password").is_none(), "{megafon}");
    let (login, password) = (
        megafon["login"].as_str().unwrap(),
        on_file["password"].as_str().unwrap(),
    );
    let balance = || async {
        let (_, b) = send_to(
            &client,
            reqwest::Method::GET,
            &balance_url,
            (login, password),
            None,
        )
        .await;
        b["balance"]["amount"].as_i64().unwrap()
    };
    let use_calls = |minutes: i64| {
        let client = client.clone();
        let url = format!("{CONSUMER}/api/admin/v1/contracts/{}/use", megafon["id"]);
        let pw = consumer_pw.clone();
        async move {
            send_to(
                &client,
                reqwest::Method::POST,
                &url,
                ("admin", &pw),
                Some(json!({"service": "call", "quantity": minutes})),
            )
            .await
        }
    };
    assert_eq!(balance().await, 0);
    let (status, refused) = use_calls(3).await;
    assert_eq!(status, 402, "no money, no calls: {refused}");

    let agent_before = agent_balance(&client, &processing_pw).await;

    // The kiosk, as its page does it: a session, the validator enabled over the bridge.
    let (_, state) = send_to(
        &client,
        get.clone(),
        &format!("{AGENT}/api/kiosk/v1/state"),
        ("kiosk", &kiosk_pw),
        None,
    )
    .await;
    let provider_id = state["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Megafon")
        .unwrap()["provider_id"]
        .clone();
    let (status, session) = send_to(
        &client,
        post.clone(),
        &format!("{AGENT}/api/kiosk/v1/sessions"),
        ("kiosk", &kiosk_pw),
        Some(json!({"provider_id": provider_id, "account": megafon["account"]})),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let session_id = session["session_id"].as_i64().unwrap();
    let (mut page, _) = tokio_tungstenite::connect_async(format!("ws://{BRIDGE}/ccnet"))
        .await
        .unwrap();
    page.send(Message::Text(
        json!({"type": "enable", "max_amount": 100_000})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    until(&mut page, |m| m["type"] == "state" && m["state"] == "idle").await;

    // A 500 ₽ banknote into the simulated validator.
    let (status, _) = send_to(
        &client,
        post.clone(),
        &format!("http://{BRIDGE}/sim"),
        ("", ""),
        None,
    )
    .await;
    assert_eq!(status, 422, "an empty script is refused");
    let inserted = client
        .post(format!("http://{BRIDGE}/sim"))
        .body("insert-rub 500")
        .send()
        .await
        .unwrap();
    assert!(inserted.status().is_success());
    let bill = until(&mut page, |m| m["type"] == "bill").await;
    assert_eq!(bill["amount"], 50_000);
    let (status, counted) = send_to(
        &client,
        post.clone(),
        &format!("{AGENT}/api/kiosk/v1/sessions/{session_id}/bills"),
        ("kiosk", &kiosk_pw),
        Some(json!({"event_id": bill["event_id"], "amount": bill["amount"]})),
    )
    .await;
    assert_eq!(status, 200, "{counted}");
    page.send(Message::Text(
        json!({"type": "ack", "event_id": bill["event_id"]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let amount = counted["session"]["amount"].as_i64().unwrap();
    assert_eq!(counted["session"]["cash"], 50_000);
    assert!(amount > 0 && amount <= 50_000);

    let (status, paid) = send_to(
        &client,
        post.clone(),
        &format!("{AGENT}/api/kiosk/v1/sessions/{session_id}/pay"),
        ("kiosk", &kiosk_pw),
        None,
    )
    .await;
    assert!(status == 200 || status == 202, "{status} {paid}");
    let receipt = eventually("the kiosk payment to complete", || async {
        let (_, r) = send_to(
            &client,
            reqwest::Method::GET,
            &format!("{AGENT}/api/kiosk/v1/sessions/{session_id}/receipt"),
            ("kiosk", &kiosk_pw),
            None,
        )
        .await;
        if r["status"] == "completed" {
            Ok(r)
        } else {
            Err(r.to_string())
        }
    })
    .await;
    assert_eq!(receipt["amount"], amount);

    // Money moved exactly: the subscriber got the amount, the agent paid it and the fee.
    assert_eq!(balance().await, amount);
    let (_, payments) = send_to(
        &client,
        get.clone(),
        &format!("{PROCESSING}/api/admin/v1/payments"),
        ("admin", &processing_pw),
        None,
    )
    .await;
    let payment = &payments[0];
    assert_eq!(payment["status"], "completed");
    assert_eq!(payment["amount"], amount);
    let fee = payment["processing_fee"].as_i64().unwrap();
    assert_eq!(
        agent_balance(&client, &processing_pw).await,
        agent_before - amount - fee
    );
    let (_, verify) = send_to(
        &client,
        get.clone(),
        &format!("{PROCESSING}/api/admin/v1/ledger/verify"),
        ("admin", &processing_pw),
        None,
    )
    .await;
    assert_eq!(verify["ok"], true, "{verify}");

    // Now the calls go through and cost money.
    let (status, used) = use_calls(3).await;
    assert_eq!(status, 200, "{used}");
    let after_calls = balance().await;
    assert!(after_calls < amount, "calls are charged: {used}");

    assert_eq!(demo.stop(), Some(0), "Ctrl-C stops the demo cleanly");
    // kiosk-shell disabled the validator and journaled the bill, acked by the page.
    let journal = std::fs::read_to_string(dir.join("kiosk-shell").join("acks.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 1);
}

async fn agent_balance(client: &reqwest::Client, password: &str) -> i64 {
    let (_, agents) = send_to(
        client,
        reqwest::Method::GET,
        &format!("{PROCESSING}/api/admin/v1/agents"),
        ("admin", password),
        None,
    )
    .await;
    agents[0]["balance"]["amount"].as_i64().unwrap()
}

async fn until<S>(page: &mut S, want: impl Fn(&Value) -> bool) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let next = tokio::time::timeout_at(deadline, page.next())
            .await
            .expect("the bridge said nothing we waited for");
        if let Some(Ok(Message::Text(text))) = next {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if want(&value) {
                return value;
            }
        }
    }
}
