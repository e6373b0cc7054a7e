//! One customer at a terminal, as `paymesh chaos` plays them: the kiosk page's steps
//! (check the account, open a session, pay) with the kiosk's credential, and the bills
//! kiosk-shell reports with the terminal's own, each `event_id` sent until the agent
//! answers — the way the page and the shell behave when the agent or its link dies under
//! them. Every step is repeated until it is answered or the customer's patience ends.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::PASSWORD;
use super::network::{Agent, BILL_TABLE};

/// How long a customer keeps trying one step before walking away.
const PATIENCE: Duration = Duration::from_secs(180);
/// Between two tries of a step.
const PAUSE: Duration = Duration::from_millis(200);

/// What the customer walked away with.
pub enum Outcome {
    /// The receipt: the agent's operation number and the status it showed.
    Receipt {
        agent_txn_id: String,
        status: String,
    },
    /// No receipt (the agent never came back within the customer's patience).
    GaveUp,
}

/// The bills of customer `i` (1–3 of the validator's denominations), chosen by `pick`.
pub fn bills(mut pick: impl FnMut(u64) -> u64) -> Vec<(i64, i64)> {
    let count = 1 + pick(3);
    (0..count)
        .map(|_| BILL_TABLE[usize::try_from(pick(BILL_TABLE.len() as u64)).unwrap_or(0)])
        .collect()
}

/// POSTs/PUTs `body` to `url` as `login` until a 2xx answer (its JSON) or a 4xx one
/// (`Err` with its body): a 5xx or no answer means "try again".
async fn until_answered(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    login: &str,
    body: &Value,
    started: Instant,
) -> Result<Value, String> {
    while started.elapsed() < PATIENCE {
        let sent = client
            .request(method.clone(), url)
            .basic_auth(login, Some(PASSWORD))
            .json(body)
            .send()
            .await;
        if let Ok(answer) = sent {
            let status = answer.status();
            let value: Value = answer.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(value);
            }
            if status.is_client_error() {
                return Err(format!("{url}: HTTP {status}: {value}"));
            }
        }
        tokio::time::sleep(PAUSE).await;
    }
    Err(format!("{url}: no answer for {} s", PATIENCE.as_secs()))
}

/// Customer `i` pays `account` at `provider_id` through `agent` with `notes`.
pub async fn pay(
    client: &reqwest::Client,
    agent: &Agent,
    provider_id: i64,
    account: &str,
    i: usize,
    notes: &[(i64, i64)],
) -> Outcome {
    let started = Instant::now();
    let kiosk = |path: &str| format!("{}/api/kiosk/v1{path}", agent.url);
    let values = json!({"provider_id": provider_id, "account": account});
    // Check and open a session until the session takes cash: a check that could not reach
    // the provider (a cut link, a provider being restarted) is simply tried again, as a
    // customer would tap "Проверить" again.
    let session = loop {
        if started.elapsed() > PATIENCE {
            return Outcome::GaveUp;
        }
        let checked = until_answered(
            client,
            reqwest::Method::POST,
            &kiosk("/checks"),
            "kiosk",
            &values,
            started,
        )
        .await;
        if !matches!(&checked, Ok(c) if c["result"] == 0) {
            tokio::time::sleep(PAUSE).await;
            continue;
        }
        let opened = until_answered(
            client,
            reqwest::Method::POST,
            &kiosk("/sessions"),
            "kiosk",
            &values,
            started,
        )
        .await;
        match opened {
            Ok(s) if s["acceptable"].as_i64().unwrap_or(0) > 0 => break s,
            _ => tokio::time::sleep(PAUSE).await,
        }
    };
    let session_id = session["session_id"].as_i64().unwrap_or(0);
    // The bills, as kiosk-shell reports them from its journal: each until answered.
    for (b, (bill_type, amount)) in notes.iter().enumerate() {
        let bill = json!({
            "event_id": format!("chaos-{i}-{b}"), "amount": amount, "session_id": session_id,
            "bill_type": bill_type, "stacked_at": crate::server::clock::now_text(),
        });
        let url = format!("{}/api/terminal/v1/bills", agent.url);
        if until_answered(
            client,
            reqwest::Method::POST,
            &url,
            "terminal",
            &bill,
            started,
        )
        .await
        .is_err()
        {
            return Outcome::GaveUp;
        }
    }
    match until_answered(
        client,
        reqwest::Method::POST,
        &kiosk(&format!("/sessions/{session_id}/pay")),
        "kiosk",
        &json!({}),
        started,
    )
    .await
    {
        Ok(receipt) => Outcome::Receipt {
            agent_txn_id: receipt["agent_txn_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            status: receipt["status"].as_str().unwrap_or_default().to_owned(),
        },
        Err(_) => Outcome::GaveUp,
    }
}
