//! Processing with a real provider behind a chaos proxy: the two-phase, exactly-once
//! payment, its failures and outages, the ledger and its invariants.

use portals::server::db;
use std::time::{Duration, Instant};

use portals::role::Role;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp, eventually, send};
use portals::chaos::proxy::ChaosProxy;

/// Processing's fee in these tests: 1.5 % of the amount.
const FEE_BP: i64 = 150;

pub struct Network {
    pub provider: TestApp,
    pub processing: TestApp,
    pub proxy: ChaosProxy,
    pub account: String,
    subscriber_password: String,
    pub provider_id: i64,
    pub agent_id: i64,
    pub agent_login: String,
    pub agent_password: String,
}

/// Processing with short retry delays (200 ms at most) and the given provider timeout.
pub async fn spawn_processing(dir: tempfile::TempDir, provider_timeout: Duration) -> TestApp {
    spawn_processing_with(dir, provider_timeout, |_| {}).await
}

/// [`spawn_processing`] with more settings changed by `adjust`.
pub async fn spawn_processing_with(
    dir: tempfile::TempDir,
    provider_timeout: Duration,
    adjust: impl FnOnce(&mut portals::server::Settings),
) -> TestApp {
    TestApp::spawn_with(Role::Processing, dir, Some(ADMIN_PASSWORD), |s| {
        s.retry_delay_max = Some(Duration::from_millis(200));
        s.provider_timeout = Some(provider_timeout);
        // The payments of these tests carry a fixed day (2026-11-26) that the reports and
        // registry tests count on; processing accepts it however old it grows.
        s.accepted_at_age_max = Some(Duration::from_secs(100 * 366 * 86_400));
        adjust(s);
    })
    .await
    .expect("processing starts")
}

pub fn fee_of(amount: i64) -> i64 {
    (amount * FEE_BP + 5_000) / 10_000
}

impl Network {
    pub async fn start() -> Network {
        Network::start_with(Duration::from_secs(1), |_| {}).await
    }

    /// A network whose processing has `provider_timeout` and other settings `adjust`ed.
    pub async fn start_with(
        provider_timeout: Duration,
        adjust: impl FnOnce(&mut portals::server::Settings),
    ) -> Network {
        let provider = TestApp::spawn(Role::Provider).await;
        let admin = ("admin", ADMIN_PASSWORD);
        let (_, subscriber) = send(&provider, reqwest::Method::POST, "/api/admin/v1/subscribers", admin, Some(json!({
            "full_name": "Иванов Иван", "passport": "4510 123456", "email": "i@example.ru", "services": ["call"]
        })))
        .await;
        let (_, contract) = send(
            &provider,
            reqwest::Method::POST,
            "/api/admin/v1/processing-contracts",
            admin,
            Some(json!({
                "processing_name": "paymesh processing", "protocol": "osmp"
            })),
        )
        .await;
        let proxy = ChaosProxy::start(provider.addr)
            .await
            .expect("the proxy listens");
        let processing =
            spawn_processing_with(tempfile::tempdir().unwrap(), provider_timeout, adjust).await;
        Network::connect(provider, processing, proxy, &subscriber, &contract).await
    }

    pub(crate) async fn connect(
        provider: TestApp,
        processing: TestApp,
        proxy: ChaosProxy,
        subscriber: &Value,
        contract: &Value,
    ) -> Network {
        let admin = ("admin", ADMIN_PASSWORD);
        let (status, provider_row) = send(&processing, reqwest::Method::POST, "/api/admin/v1/providers", admin, Some(json!({
            "name": "Megafon", "service_kind": "mobile",
            "endpoint_url": format!("http://{}/osmp", proxy.addr),
            "protocol": "osmp",
            "login": contract["login"], "password": contract["password"],
            "fields": contract["fields"], "min_amount": contract["min_amount"], "max_amount": contract["max_amount"]
        })))
        .await;
        assert_eq!(status, 201, "{provider_row}");
        assert!(
            provider_row.get("password").is_none(),
            "secrets are never echoed"
        );
        let (status, agent) = send(&processing, reqwest::Method::POST, "/api/admin/v1/agents", admin, Some(json!({
            "name": "Терминал №1", "fee": {"percent_bp": FEE_BP, "fixed": 0, "min": 0, "max": null}
        })))
        .await;
        assert_eq!(status, 201, "{agent}");
        assert_eq!(agent["protocol"], "paymesh-agent/1");
        assert_eq!(
            agent["api_url"],
            format!("http://{}/api/agent/v1", processing.addr)
        );
        Network {
            account: subscriber["account"].as_str().unwrap().to_owned(),
            subscriber_password: subscriber["password"].as_str().unwrap().to_owned(),
            provider_id: provider_row["provider_id"].as_i64().unwrap(),
            agent_id: agent["agent_id"].as_i64().unwrap(),
            agent_login: agent["login"].as_str().unwrap().to_owned(),
            agent_password: agent["password"].as_str().unwrap().to_owned(),
            provider,
            processing,
            proxy,
        }
    }

    pub async fn top_up(&self, amount: i64, reference: &str) -> (u16, Value) {
        send(
            &self.processing,
            reqwest::Method::POST,
            &format!("/api/admin/v1/agents/{}/topups", self.agent_id),
            ("admin", ADMIN_PASSWORD),
            Some(json!({"amount": amount, "reference": reference})),
        )
        .await
    }

    pub async fn agent(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        send(
            &self.processing,
            method,
            path,
            (&self.agent_login, &self.agent_password),
            body,
        )
        .await
    }

    pub fn payment_body(&self, agent_txn_id: &str, amount: i64) -> Value {
        json!({
            "agent_txn_id": agent_txn_id, "provider_id": self.provider_id, "account": self.account,
            "cash": amount, "agent_fee": 0, "amount": amount, "accepted_at": "2026-11-26T10:15:00Z"
        })
    }

    pub async fn pay(&self, agent_txn_id: &str, amount: i64) -> (u16, Value) {
        self.agent(
            reqwest::Method::POST,
            "/api/agent/v1/payments",
            Some(self.payment_body(agent_txn_id, amount)),
        )
        .await
    }

    pub async fn wait_status(&self, agent_txn_id: &str, status: &str) -> Value {
        let path = format!("/api/agent/v1/payments/{agent_txn_id}");
        eventually(
            &format!("payment {agent_txn_id} to become {status}"),
            || async {
                let (_, payment) = self.agent(reqwest::Method::GET, &path, None).await;
                if payment["status"] == status {
                    Ok(payment)
                } else {
                    Err(payment.to_string())
                }
            },
        )
        .await
    }

    pub async fn subscriber_balance(&self) -> i64 {
        let (_, b) = send(
            &self.provider,
            reqwest::Method::GET,
            "/api/usage/v1/balance",
            (&self.account, &self.subscriber_password),
            None,
        )
        .await;
        b["balance"]["amount"].as_i64().unwrap()
    }

    pub async fn agent_balance(&self) -> Value {
        self.agent(reqwest::Method::GET, "/api/agent/v1/balance", None)
            .await
            .1
    }

    pub async fn ledger(&self) -> Vec<Value> {
        send(
            &self.processing,
            reqwest::Method::GET,
            "/api/admin/v1/ledger",
            ("admin", ADMIN_PASSWORD),
            None,
        )
        .await
        .1
        .as_array()
        .unwrap()
        .clone()
    }

    pub async fn account_balance(&self, id: &str) -> i64 {
        self.ledger()
            .await
            .iter()
            .find(|a| a["id"] == id)
            .map(|a| a["balance"].as_i64().unwrap())
            .unwrap_or(0)
    }

    /// The ledger check's answer.
    pub async fn ledger_verification(&self) -> Value {
        let (status, v) = send(
            &self.processing,
            reqwest::Method::GET,
            "/api/admin/v1/ledger/verify",
            ("admin", ADMIN_PASSWORD),
            None,
        )
        .await;
        assert_eq!(status, 200, "{v}");
        v
    }

    pub async fn assert_ledger_verifies(&self) {
        let v = self.ledger_verification().await;
        assert_eq!(v["ok"], true, "ledger check: {v}");
    }

    pub async fn provider_payments(&self) -> i64 {
        let (n,): (i64,) = db::query_as("SELECT COUNT(*) FROM payments")
            .fetch_one(self.provider.db.as_ref().unwrap())
            .await
            .unwrap();
        n
    }

    pub async fn set_provider_payments(&self, switch: &str) {
        let (status, _) = send(
            &self.provider,
            reqwest::Method::PUT,
            "/api/admin/v1/settings",
            ("admin", ADMIN_PASSWORD),
            Some(json!({"payments": switch})),
        )
        .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn happy_path_credits_the_subscriber_and_debits_the_agent_amount_plus_fee() {
    let n = Network::start().await;
    assert_eq!(
        n.top_up(100_000, "PP-1").await.1["balance"]["amount"],
        100_000
    );
    let (status, payment) = n.pay("T-1", 50_000).await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["status"], "completed");
    assert_eq!(payment["result"], 0);
    assert_eq!(payment["processing_fee"], fee_of(50_000));
    assert!(payment["prv_txn"].as_str().is_some());
    // The answer carries the balance the settlement left, as the balance API reads it.
    assert_eq!(
        payment["balance"]["amount"],
        100_000 - 50_000 - fee_of(50_000)
    );
    assert_eq!(n.subscriber_balance().await, 50_000);
    let balance = n.agent_balance().await;
    assert_eq!(
        balance["balance"]["amount"],
        100_000 - 50_000 - fee_of(50_000)
    );
    assert_eq!(balance["reserved"]["amount"], 0);
    assert_eq!(balance["blocked"], false);
    assert_eq!(n.account_balance("fees").await, fee_of(50_000));
    assert_eq!(
        n.account_balance(&format!("provider:{}", n.provider_id))
            .await,
        50_000
    );
    assert_eq!(n.account_balance("topups").await, -100_000);
    n.assert_ledger_verifies().await;

    // A repeat: 200, the same payment, nothing moves.
    let (status, again) = n.pay("T-1", 50_000).await;
    assert_eq!(status, 200);
    assert_eq!(again["payment_id"], payment["payment_id"]);
    assert_eq!(again["balance"], payment["balance"]);
    assert_eq!(n.subscriber_balance().await, 50_000);
    // The same key with another body: 409, result 215.
    let (status, conflict) = n.pay("T-1", 40_000).await;
    assert_eq!(status, 409);
    assert_eq!(conflict["error"]["code"], "idempotency_conflict");
    assert_eq!(conflict["result"], 215);
    assert_eq!(n.provider_payments().await, 1);
}

#[tokio::test]
async fn insufficient_funds_are_rejected_with_220_and_reserve_nothing() {
    let n = Network::start().await;
    n.top_up(10_000, "PP-1").await;
    let (status, payment) = n.pay("T-1", 10_000).await; // 100.00 + 1.50 fee > 100.00
    assert_eq!(status, 201, "understood, recorded, refused");
    assert_eq!(payment["status"], "rejected");
    assert_eq!(payment["result"], 220);
    assert_eq!(payment["fatal"], true);
    assert_eq!(payment["balance"]["amount"], 10_000);
    assert_eq!(n.agent_balance().await["reserved"]["amount"], 0);
    assert_eq!(n.subscriber_balance().await, 0);
    assert_eq!(
        n.provider_payments().await,
        0,
        "the provider was never asked"
    );
    n.assert_ledger_verifies().await;
}

#[tokio::test]
async fn a_final_refusal_fails_the_payment_and_voids_the_reservation() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    // Close the subscriber's contract at the provider: pay answers 79, a final code.
    send(
        &n.provider,
        reqwest::Method::DELETE,
        &format!("/api/admin/v1/subscribers/{}", n.account),
        ("admin", ADMIN_PASSWORD),
        None,
    )
    .await;
    let (_, payment) = n.pay("T-1", 1_000).await;
    assert_eq!(payment["status"], "failed");
    assert_eq!(payment["result"], 79);
    assert_eq!(payment["fatal"], true);
    assert_eq!(payment["balance"]["amount"], 100_000);
    let balance = n.agent_balance().await;
    assert_eq!(balance["balance"]["amount"], 100_000);
    assert_eq!(balance["reserved"]["amount"], 0);
    n.assert_ledger_verifies().await;
}

#[tokio::test]
async fn an_unknown_account_answered_5_fails_the_payment() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    let mut body = n.payment_body("T-5", 1_000);
    body["account"] = json!("9000000000");
    let (_, payment) = n
        .agent(reqwest::Method::POST, "/api/agent/v1/payments", Some(body))
        .await;
    assert_eq!(payment["status"], "failed");
    assert_eq!(payment["result"], 5);
    assert_eq!(n.agent_balance().await["available"]["amount"], 100_000);
    n.assert_ledger_verifies().await;
}

#[tokio::test]
async fn provider_down_then_back_completes_exactly_once() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    n.proxy.break_link();
    let (status, payment) = n.pay("T-1", 20_000).await;
    assert_eq!(status, 201);
    assert_eq!(payment["status"], "pending");
    assert_eq!(payment["fatal"], false);
    let held = n.agent_balance().await;
    assert_eq!(held["reserved"]["amount"], 20_000 + fee_of(20_000));
    assert_eq!(
        held["available"]["amount"],
        100_000 - 20_000 - fee_of(20_000)
    );
    n.assert_ledger_verifies().await;
    tokio::time::sleep(Duration::from_millis(800)).await; // several failed retries
    assert_eq!(n.subscriber_balance().await, 0);
    n.proxy.restore();
    n.wait_status("T-1", "completed").await;
    assert_eq!(
        n.subscriber_balance().await,
        20_000,
        "credited exactly once"
    );
    assert_eq!(n.provider_payments().await, 1);
    assert_eq!(n.agent_balance().await["reserved"]["amount"], 0);
    n.assert_ledger_verifies().await;
}

#[tokio::test]
async fn provider_timing_out_then_back_completes_exactly_once() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    n.proxy.hang();
    let (_, payment) = n.pay("T-1", 20_000).await;
    assert_eq!(payment["status"], "pending");
    n.proxy.restore();
    n.wait_status("T-1", "completed").await;
    assert_eq!(n.subscriber_balance().await, 20_000);
    assert_eq!(n.provider_payments().await, 1);
    n.assert_ledger_verifies().await;
}

/// A frozen provider (its link accepts and never answers; the provider timeout is a
/// minute): the terminal is answered `pending` once the answer budget passes, while the
/// first attempt still waits; when the provider is back the payment completes, credited
/// once — the early answer sent no second `pay`.
#[tokio::test]
async fn a_frozen_provider_does_not_hold_the_terminal() {
    let n = Network::start_with(Duration::from_secs(60), |s| {
        s.answer_budget = Some(Duration::from_millis(300));
    })
    .await;
    n.top_up(100_000, "PP-1").await;
    n.proxy.hang();
    // Answered while the provider is still frozen: without the budget this request would
    // wait for the provider's minute.
    let (status, payment) = n.pay("T-1", 20_000).await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["status"], "pending", "{payment}");
    assert_eq!(n.provider_payments().await, 0);
    assert_eq!(
        n.agent_balance().await["reserved"]["amount"],
        20_000 + fee_of(20_000),
        "the amount stays reserved while the attempt goes on"
    );
    n.proxy.restore();
    n.wait_status("T-1", "completed").await;
    assert_eq!(n.subscriber_balance().await, 20_000);
    assert_eq!(n.provider_payments().await, 1, "credited exactly once");
    n.assert_ledger_verifies().await;
}

/// A pending payment is its own reservation: the agent's `reserved` is the sum of its
/// pending payments, with no table of reservations beside them, and the ledger check
/// names an account whose `reserved` drifts from that sum.
#[tokio::test]
async fn a_pending_payment_is_its_reservation_and_the_check_names_a_drifted_reserved() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    n.set_provider_payments("paused").await;
    assert_eq!(n.pay("T-1", 20_000).await.1["status"], "pending");
    assert_eq!(n.pay("T-2", 30_000).await.1["status"], "pending");
    let held = 20_000 + fee_of(20_000) + 30_000 + fee_of(30_000);
    assert_eq!(n.agent_balance().await["reserved"]["amount"], held);
    n.assert_ledger_verifies().await;
    let db = n.processing.db.clone().unwrap();
    assert!(
        db::query("SELECT 1 FROM reservations")
            .execute(&db)
            .await
            .is_err(),
        "no table of reservations is left"
    );

    let drift = |by: i64| {
        let db = db.clone();
        async move {
            db::query("UPDATE ledger_accounts SET reserved = reserved + $1 WHERE kind = 'agent'")
                .bind(by)
                .execute(&db)
                .await
                .unwrap();
        }
    };
    drift(1).await;
    let verification = n.ledger_verification().await;
    assert_eq!(verification["ok"], false, "{verification}");
    let check = verification["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "reserved_equals_pending_payments")
        .unwrap_or_else(|| panic!("no such check: {verification}"));
    assert_eq!(check["ok"], false);
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("reserved {}, pending payments {held}", held + 1)),
        "{detail}"
    );
    drift(-1).await;
    n.assert_ledger_verifies().await;

    // Settled, the payments hold nothing.
    n.set_provider_payments("open").await;
    n.wait_status("T-1", "completed").await;
    n.wait_status("T-2", "completed").await;
    assert_eq!(n.agent_balance().await["reserved"]["amount"], 0);
    n.assert_ledger_verifies().await;
}

/// On PostgreSQL a settlement locks the accounts it moves in one order, their ids':
/// two settlements of different agents with one provider both move the provider's and the
/// fees' rows, and locked in the order a scan met them they could deadlock. Here the fees'
/// row is held elsewhere (and moved after the provider's, where a scan in physical order
/// would meet it last): the settlement waits for it without holding the provider's row.
/// SQLite has one writer and no row locks, so there is nothing to see there.
#[tokio::test]
async fn a_settlement_locks_its_accounts_in_the_order_of_their_ids() {
    use portals::server::db::Backend;
    let n = std::sync::Arc::new(Network::start().await);
    let db = n.processing.db.clone().unwrap();
    if db.backend() != Backend::Postgres {
        return;
    }
    n.top_up(100_000, "PP-1").await;
    let provider = format!("provider:{}", n.provider_id);
    db::query("UPDATE ledger_accounts SET balance = balance WHERE id = 'fees'")
        .execute(&db)
        .await
        .unwrap();
    let mut holder = db.begin().await.unwrap();
    db::query("SELECT id FROM ledger_accounts WHERE id = 'fees' FOR UPDATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let paying = tokio::spawn({
        let n = n.clone();
        async move { n.pay("T-1", 10_000).await }
    });
    eventually("the settlement to wait for the fees' row", || {
        let db = db.clone();
        async move {
            let (waiting,): (i64,) =
                db::query_as("SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND locktype IN ('transactionid', 'tuple')")
                    .fetch_one(&db)
                    .await
                    .map_err(|e| e.to_string())?;
            if waiting > 0 { Ok(()) } else { Err("nobody waits yet".into()) }
        }
    })
    .await;
    let mut probe = db.begin().await.unwrap();
    let taken = db::query("SELECT id FROM ledger_accounts WHERE id = $1 FOR UPDATE NOWAIT")
        .bind(&provider)
        .execute(&mut probe)
        .await;
    assert!(
        taken.is_ok(),
        "the waiting settlement holds the provider's row: {taken:?}"
    );
    probe.rollback().await.unwrap();
    holder.rollback().await.unwrap();
    let (status, payment) = paying.await.unwrap();
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["status"], "completed", "{payment}");
    n.assert_ledger_verifies().await;
}

#[tokio::test]
async fn provider_answering_1_keeps_the_payment_pending_until_it_can_pay() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    n.set_provider_payments("paused").await;
    let (_, payment) = n.pay("T-1", 20_000).await;
    assert_eq!(payment["status"], "pending");
    assert_eq!(payment["fatal"], false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(n.wait_status("T-1", "pending").await["status"], "pending");
    n.set_provider_payments("open").await;
    n.wait_status("T-1", "completed").await;
    assert_eq!(n.subscriber_balance().await, 20_000);
    n.assert_ledger_verifies().await;
}

#[tokio::test]
async fn a_restarted_processing_resumes_pending_payments() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    n.proxy.break_link();
    assert_eq!(n.pay("T-1", 30_000).await.1["status"], "pending");
    let Network {
        provider,
        processing,
        proxy,
        account,
        subscriber_password,
        provider_id,
        agent_id,
        agent_login,
        agent_password,
    } = n;
    let dir = processing.stop().await;
    proxy.restore();
    let processing = spawn_processing(dir, Duration::from_secs(1)).await;
    let n = Network {
        provider,
        processing,
        proxy,
        account,
        subscriber_password,
        provider_id,
        agent_id,
        agent_login,
        agent_password,
    };
    n.wait_status("T-1", "completed").await;
    assert_eq!(n.subscriber_balance().await, 30_000);
    assert_eq!(n.provider_payments().await, 1);
    n.assert_ledger_verifies().await;
}

#[tokio::test]
async fn a_hundred_concurrent_repeats_make_one_payment() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    let answers = futures::future::join_all((0..100).map(|_| n.pay("SAME", 1_000))).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(_, p)| p["payment_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one payment");
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "one 201, the rest 200"
    );
    n.wait_status("SAME", "completed").await;
    assert_eq!(n.subscriber_balance().await, 1_000);
    assert_eq!(
        n.agent_balance().await["balance"]["amount"],
        100_000 - 1_000 - fee_of(1_000)
    );
    n.assert_ledger_verifies().await;
}

#[tokio::test]
async fn concurrent_payments_beyond_the_balance_complete_exactly_as_many_as_fit() {
    let n = Network::start().await;
    let balance = 100_000;
    let amount = 15_000; // + 225 fee
    n.top_up(balance, "PP-1").await;
    let answers =
        futures::future::join_all((0..12).map(|i| n.pay_owned(format!("C-{i}"), amount))).await;
    let completed = answers
        .iter()
        .filter(|(_, p)| p["status"] == "completed")
        .count();
    let rejected = answers
        .iter()
        .filter(|(_, p)| p["status"] == "rejected")
        .count();
    let fits = (balance / (amount + fee_of(amount))) as usize;
    assert_eq!(completed, fits, "{answers:?}");
    assert_eq!(rejected, 12 - fits);
    // Each completed payment answers the balance its own settlement left: one step of
    // the debits each, none twice.
    let mut answered: Vec<i64> = answers
        .iter()
        .filter(|(_, p)| p["status"] == "completed")
        .filter_map(|(_, p)| p["balance"]["amount"].as_i64())
        .collect();
    answered.sort_unstable();
    let steps: Vec<i64> = (1..=fits as i64)
        .rev()
        .map(|k| balance - k * (amount + fee_of(amount)))
        .collect();
    assert_eq!(answered, steps, "{answers:?}");
    assert_eq!(n.subscriber_balance().await, fits as i64 * amount);
    let left = n.agent_balance().await;
    assert_eq!(
        left["balance"]["amount"],
        balance - fits as i64 * (amount + fee_of(amount))
    );
    assert!(left["available"]["amount"].as_i64().unwrap() >= 0);
    n.assert_ledger_verifies().await;
}

impl Network {
    async fn pay_owned(&self, agent_txn_id: String, amount: i64) -> (u16, Value) {
        self.pay(&agent_txn_id, amount).await
    }
}

/// Pending payments are claimed for one attempt with a lease (`payment::claim_due`): two
/// retriers looking at once — two processes on one database — never both take a payment,
/// a leased payment is left alone, and one whose lease ran out (its attempt died with its
/// process) is taken over. Played on a stopped processing's own database, at instants
/// far from now so that nothing else moves its payments meanwhile.
#[tokio::test]
async fn a_pending_payment_is_claimed_by_one_retrier_at_a_time_and_taken_over_when_its_lease_lapses()
 {
    use portals::processing::server::payment::claim_due;
    use portals::server::clock::stamp;
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    n.proxy.break_link();
    for i in 0..3 {
        assert_eq!(n.pay(&format!("L-{i}"), 1_000).await.1["status"], "pending");
    }
    let dir = n.processing.stop().await;
    let pool = TestApp::open_db(Role::Processing, &dir).await;
    let day = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let at = |minutes: i64| stamp(day + time::Duration::minutes(minutes));
    let ids = |rows: Vec<portals::processing::model::PaymentRow>| {
        let mut ids: Vec<i64> = rows.into_iter().map(|p| p.id).collect();
        ids.sort();
        ids
    };

    // Two retriers at the same instant: every payment goes to exactly one of them.
    let (now, lease) = (at(0), at(1));
    let (first, second) = tokio::join!(
        claim_due(&pool, &now, &lease, 64),
        claim_due(&pool, &now, &lease, 64)
    );
    let (first, second) = (ids(first.unwrap()), ids(second.unwrap()));
    let mut all = [first.clone(), second.clone()].concat();
    all.sort();
    assert_eq!(all.len(), 3, "{first:?} {second:?}");
    all.dedup();
    assert_eq!(
        all.len(),
        3,
        "a payment claimed twice: {first:?} {second:?}"
    );
    // While the lease runs, nobody else takes them; a batch limit is a limit.
    assert!(
        claim_due(&pool, &at(0), &at(1), 64)
            .await
            .unwrap()
            .is_empty()
    );
    // The attempts died with their process: after the lease, they are due again.
    let taken_over = ids(claim_due(&pool, &at(2), &at(3), 2).await.unwrap());
    assert_eq!(taken_over.len(), 2);
    let rest = ids(claim_due(&pool, &at(2), &at(3), 64).await.unwrap());
    assert_eq!(rest.len(), 1);
    assert!(!taken_over.contains(&rest[0]));
    pool.close().await;
}

#[tokio::test]
async fn top_ups_are_idempotent_by_reference() {
    let n = Network::start().await;
    assert_eq!(n.top_up(5_000, "PP-7").await.1["balance"]["amount"], 5_000);
    assert_eq!(
        n.top_up(5_000, "PP-7").await.1["balance"]["amount"],
        5_000,
        "a repeat does not top up twice"
    );
    assert_eq!(n.top_up(6_000, "PP-7").await.0, 409);
    assert_eq!(n.top_up(-1, "PP-8").await.0, 422);
    assert_eq!(n.top_up(1_000, "PP-8").await.1["balance"]["amount"], 6_000);
    n.assert_ledger_verifies().await;
}

#[tokio::test]
async fn catalog_etag_checks_and_validation() {
    let n = Network::start().await;
    let response = n
        .processing
        .client
        .get(n.processing.url("/api/agent/v1/catalog"))
        .basic_auth(&n.agent_login, Some(&n.agent_password))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let catalog: Value = response.json().await.unwrap();
    assert_eq!(
        format!("\"{}\"", catalog["version"].as_str().unwrap()),
        etag
    );
    assert_eq!(catalog["providers"][0]["fields"][0]["regex"], "9[0-9]{9}");
    let cached = n
        .processing
        .client
        .get(n.processing.url("/api/agent/v1/catalog"))
        .basic_auth(&n.agent_login, Some(&n.agent_password))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    let (status, check) = n
        .agent(
            reqwest::Method::POST,
            "/api/agent/v1/checks",
            Some(json!({"provider_id": n.provider_id, "account": n.account})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(check, json!({"result": 0, "fatal": false, "message": "OK"}));
    let (_, missing) = n
        .agent(
            reqwest::Method::POST,
            "/api/agent/v1/checks",
            Some(json!({"provider_id": n.provider_id, "account": "9000000000"})),
        )
        .await;
    assert_eq!(missing["result"], 5);
    assert_eq!(missing["fatal"], true);
    let asked = |pool: Option<db::Db>| async move {
        let (c,): (i64,) = db::query_as("SELECT COUNT(*) FROM gateway_log")
            .fetch_one(pool.as_ref().unwrap())
            .await
            .unwrap();
        c
    };
    let before = asked(n.provider.db.clone()).await;
    let (status, refused) = n
        .agent(
            reqwest::Method::POST,
            "/api/agent/v1/checks",
            Some(json!({"provider_id": n.provider_id, "account": "12-34"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(refused["error"]["fields"]["account"].is_string());
    let mut bad = n.payment_body("T-bad", 1_000);
    bad["cash"] = json!(999);
    bad["account"] = json!("nope");
    let (status, refused) = n
        .agent(reqwest::Method::POST, "/api/agent/v1/payments", Some(bad))
        .await;
    assert_eq!(status, 422);
    assert!(
        refused["error"]["fields"]["cash"].is_string()
            && refused["error"]["fields"]["account"].is_string()
    );
    assert_eq!(
        asked(n.provider.db.clone()).await,
        before,
        "the provider was never asked"
    );
    let (n_payments,): (i64,) = db::query_as("SELECT COUNT(*) FROM payments")
        .fetch_one(n.processing.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(n_payments, 0, "refused requests store nothing");
}

#[tokio::test]
async fn the_ledger_stays_balanced_through_random_operations() {
    // A fixed-seed random walk over top-ups, payments that complete, fail or are rejected,
    // and provider outages; the invariants are checked after every step.
    let n = Network::start().await;
    let mut seed: u64 = 0x5eed_1234;
    let mut next = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    for step in 0..40 {
        match next(5) {
            0 => {
                n.top_up(1_000 + next(50_000) as i64, &format!("R-{step}"))
                    .await;
            }
            1 => {
                let mut body = n.payment_body(&format!("X-{step}"), 100 + next(20_000) as i64);
                body["account"] = json!("9000000001"); // unknown: fails with 5
                n.agent(reqwest::Method::POST, "/api/agent/v1/payments", Some(body))
                    .await;
            }
            2 => n.proxy.break_link(),
            3 => n.proxy.restore(),
            _ => {
                n.pay(&format!("P-{step}"), 100 + next(20_000) as i64).await;
            }
        }
        n.assert_ledger_verifies().await;
    }
    n.proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    while n.agent_balance().await["reserved"]["amount"] != 0 {
        assert!(Instant::now() < deadline, "pending payments never settled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    n.assert_ledger_verifies().await;
    // What the provider credited is what the ledger owes it.
    let credited: (i64,) =
        db::query_as("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments")
            .fetch_one(n.provider.db.as_ref().unwrap())
            .await
            .unwrap();
    assert_eq!(
        n.account_balance(&format!("provider:{}", n.provider_id))
            .await,
        credited.0
    );
}

/// A provider running as its own `paymesh provider` process on a fixed port.
struct ProviderProcess {
    child: std::process::Child,
}

impl ProviderProcess {
    async fn start(dir: &std::path::Path, port: u16) -> ProviderProcess {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_paymesh"))
            .args([
                "provider",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--admin-password",
                ADMIN_PASSWORD,
            ])
            .arg("--data-dir")
            .arg(dir)
            .env("PAYMESH_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("paymesh provider starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = crate::helpers::plain_client();
        while client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the provider process did not come up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ProviderProcess { child }
    }

    fn kill(&mut self) {
        // SIGKILL: no graceful shutdown, as a crash or a pulled plug.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProviderProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn a_provider_process_killed_mid_flight_is_paid_once_after_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut provider = ProviderProcess::start(dir.path(), port).await;
    let client = crate::helpers::plain_client();
    let admin_post = |path: &str, body: Value| {
        client
            .post(format!("http://127.0.0.1:{port}{path}"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&body)
            .send()
    };
    let subscriber: Value = admin_post("/api/admin/v1/subscribers", json!({
        "full_name": "Петров Пётр", "passport": "4510 000001", "email": "p@example.ru", "services": ["call"]
    })).await.unwrap().json().await.unwrap();
    let contract: Value = admin_post(
        "/api/admin/v1/processing-contracts",
        json!({"processing_name": "p", "protocol": "osmp"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let account = subscriber["account"].as_str().unwrap().to_owned();
    let balance = || {
        let (client, account, password) = (
            client.clone(),
            account.clone(),
            subscriber["password"].as_str().unwrap().to_owned(),
        );
        async move {
            let b: Value = client
                .get(format!("http://127.0.0.1:{port}/api/usage/v1/balance"))
                .basic_auth(&account, Some(&password))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            b["balance"]["amount"].as_i64().unwrap()
        }
    };

    // Processing reaches the provider process through a pass-through proxy. `Network` wants an
    // in-process provider for its helpers; this test asks the process directly instead.
    let placeholder = TestApp::spawn(Role::Provider).await;
    let proxy = ChaosProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("the proxy listens");
    let processing = spawn_processing(tempfile::tempdir().unwrap(), Duration::from_secs(2)).await;
    let n = Network::connect(placeholder, processing, proxy, &subscriber, &contract).await;
    n.top_up(100_000, "PP-1").await;
    assert_eq!(n.pay("R-1", 10_000).await.1["status"], "completed");
    assert_eq!(balance().await, 10_000);

    provider.kill();
    assert_eq!(n.pay("R-2", 20_000).await.1["status"], "pending");
    let _provider = ProviderProcess::start(dir.path(), port).await;
    n.wait_status("R-2", "completed").await;
    assert_eq!(balance().await, 30_000, "credited once, after the restart");
    n.assert_ledger_verifies().await;
    assert_eq!(
        n.account_balance(&format!("provider:{}", n.provider_id))
            .await,
        30_000
    );
}

#[tokio::test]
async fn the_daily_registry_lists_completed_payments_and_finds_a_planted_discrepancy() {
    let n = Network::start().await;
    n.top_up(1_000_000, "PP-1").await;
    assert_eq!(n.pay("D-1", 10_045).await.1["status"], "completed");
    let (_, second) = n.pay("D-2", 20_000).await;
    assert_eq!(second["status"], "completed");
    let response = n
        .processing
        .client
        .get(n.processing.url(&format!(
            "/api/admin/v1/registry/{}/2026-11-26.csv",
            n.provider_id
        )))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1].ends_with(&format!(";{};100.45;20261126101500", n.account)),
        "{csv}"
    );
    assert_eq!(lines[3], "TOTAL;2;300.45");
    let path = format!(
        "/api/admin/v1/registry/{}/2026-11-26/discrepancies",
        n.provider_id
    );
    let (status, clean) = send(
        &n.processing,
        reqwest::Method::GET,
        &path,
        ("admin", ADMIN_PASSWORD),
        None,
    )
    .await;
    assert_eq!(status, 200, "{clean}");
    assert_eq!(clean["ok"], true, "{clean}");
    assert_eq!(clean["theirs"], 2);

    // Plant a discrepancy at the provider: one credit's sum changed behind everyone's back.
    db::query("UPDATE payments SET amount = 19000 WHERE txn_id = $1")
        .bind(second["payment_id"].to_string())
        .execute(n.provider.db.as_ref().unwrap())
        .await
        .unwrap();
    let (_, found) = send(
        &n.processing,
        reqwest::Method::GET,
        &path,
        ("admin", ADMIN_PASSWORD),
        None,
    )
    .await;
    assert_eq!(found["ok"], false);
    assert_eq!(
        found["amount_differs"],
        json!([[second["payment_id"].to_string(), 20000, 19000]])
    );
    let (status, _) = send(
        &n.processing,
        reqwest::Method::GET,
        &format!("/api/admin/v1/registry/{}/26.11.2026.csv", n.provider_id),
        ("admin", ADMIN_PASSWORD),
        None,
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn numbers_and_dates_no_real_payment_has_are_refused_and_write_nothing() {
    let n = Network::start().await;
    // A top-up of i64::MAX kopecks used to turn the ledger account into a REAL and break
    // `/ledger` for good; anything above the input bound is refused now.
    for amount in [i64::MAX, 100_000_000_001] {
        let (status, refused) = n.top_up(amount, &format!("BIG-{amount}")).await;
        assert_eq!(status, 422, "{refused}");
        assert!(refused["error"]["fields"]["amount"].is_string());
    }
    let (status, _) = n.top_up(100_000_000_000, "MAX").await;
    assert_eq!(status, 200, "the bound itself is a valid top-up");
    assert_eq!(
        n.account_balance(&format!("agent:{}", n.agent_id)).await,
        100_000_000_000
    );
    n.assert_ledger_verifies().await;

    let payments = |n: &Network| {
        let pool = n.processing.db.clone().unwrap();
        async move {
            let (c,): (i64,) = db::query_as("SELECT COUNT(*) FROM payments")
                .fetch_one(&pool)
                .await
                .unwrap();
            c
        }
    };
    let two_days_ahead = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for (field, value) in [
        ("accepted_at", json!("0000-01-01T00:00:00Z")),
        ("accepted_at", json!(two_days_ahead)),
    ] {
        let mut body = n.payment_body("BAD-DATE", 10_000);
        body[field] = value.clone();
        let (status, refused) = n
            .agent(reqwest::Method::POST, "/api/agent/v1/payments", Some(body))
            .await;
        assert_eq!(status, 422, "{value}: {refused}");
        assert!(refused["error"]["fields"][field].is_string(), "{refused}");
    }
    let mut huge = n.payment_body("BAD-SUM", 10_000);
    huge["amount"] = json!(i64::MAX - 1);
    huge["agent_fee"] = json!(1);
    huge["cash"] = json!(i64::MAX);
    let (status, refused) = n
        .agent(reqwest::Method::POST, "/api/agent/v1/payments", Some(huge))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"]["fields"]["cash"].is_string(), "{refused}");
    assert_eq!(payments(&n).await, 0, "refused payments store nothing");

    // A provider's limit beyond the bound is refused too.
    let (status, refused) = send(
        &n.processing,
        reqwest::Method::PATCH,
        &format!("/api/admin/v1/providers/{}", n.provider_id),
        ("admin", ADMIN_PASSWORD),
        Some(json!({"max_amount": i64::MAX})),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    n.assert_ledger_verifies().await;
}

/// The operator's list pages by keyset (`before` = the last id of the page before) and
/// exports, as CSV, every payment its filter selects — past the 500 rows one page holds.
#[tokio::test]
async fn the_payment_list_pages_by_keyset_and_exports_what_its_filter_selects() {
    let net = Network::start().await;
    net.top_up(100_000_000, "paging").await;
    const PAYMENTS: usize = 120;
    for i in 0..PAYMENTS {
        let (status, body) = net.pay(&format!("page-{i}"), 10_000).await;
        assert_eq!(status, 201, "{body}");
    }
    let admin = ("admin", ADMIN_PASSWORD);
    let mut seen = Vec::new();
    let mut before: Option<i64> = None;
    for expected in [50, 50, 20, 0] {
        let path = match before {
            Some(id) => format!("/api/admin/v1/payments?limit=50&before={id}"),
            None => "/api/admin/v1/payments?limit=50".to_owned(),
        };
        let (status, page) = send(&net.processing, reqwest::Method::GET, &path, admin, None).await;
        assert_eq!(status, 200, "{page}");
        let ids: Vec<i64> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), expected, "page after {before:?}");
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
        if let (Some(last), Some(first)) = (before, ids.first()) {
            assert!(*first < last, "a page starts below the one before");
        }
        before = ids.last().copied().or(before);
        seen.extend(ids);
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), PAYMENTS, "every payment on exactly one page");
    for bad in ["limit=0", "limit=501"] {
        let (status, body) = send(
            &net.processing,
            reqwest::Method::GET,
            &format!("/api/admin/v1/payments?{bad}"),
            admin,
            None,
        )
        .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert!(body["error"]["fields"]["limit"].is_string(), "{body}");
    }

    // The export: a header and one line per selected payment, newest first.
    let csv = crate::helpers::plain_client()
        .get(
            net.processing
                .url("/api/admin/v1/payments.csv?status=completed"),
        )
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("created_at;id;agent_id;agent_txn_id;"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines.len(),
        1 + PAYMENTS,
        "every completed payment exported"
    );
    assert!(
        lines[1].contains(";page-119;"),
        "newest first: {}",
        lines[1]
    );
    assert!(lines[PAYMENTS].contains(";page-0;"), "{}", lines[PAYMENTS]);
    assert!(
        lines[1].contains(";100.00;"),
        "roubles with a dot: {}",
        lines[1]
    );
    let pending = crate::helpers::plain_client()
        .get(
            net.processing
                .url("/api/admin/v1/payments.csv?status=pending"),
        )
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(pending.lines().count(), 1, "the filter applies: {pending}");
}

/// Processing's index of payments waiting for their provider holds those and no others:
/// a settled payment leaves it. The day's turnover then goes by time, not through an index
/// on the status that held every completed payment ever made.
#[tokio::test]
async fn the_pending_index_holds_only_payments_in_flight_and_the_turnover_goes_by_time() {
    use portals::server::db::{self, Backend};
    let (n, _) = crate::dashboards::payments_network().await;
    let db = n.processing.db.clone().unwrap();
    match db.backend() {
        Backend::Sqlite => {
            // The waiting payment is found through the index (SQLite refuses `INDEXED BY`
            // an index that cannot answer the query), and the index is partial.
            let (pending_entries,): (i64,) =
                db::query_as("SELECT COUNT(*) FROM payments INDEXED BY payments_pending WHERE status = 'pending'")
                    .fetch_one(&db)
                    .await
                    .unwrap();
            assert_eq!(pending_entries, 1);
            let (definition,): (String,) =
                db::query_as("SELECT sql FROM sqlite_master WHERE name = 'payments_pending'")
                    .fetch_one(&db)
                    .await
                    .unwrap();
            assert!(
                definition.contains("WHERE status = 'pending'"),
                "{definition}"
            );
            let plan: Vec<(i64, i64, i64, String)> = db::query_as(sqlx::AssertSqlSafe(format!(
                "EXPLAIN QUERY PLAN {}",
                portals::processing::server::dashboard::TURNOVER_SINCE
            )))
            .bind("2026-01-01T00:00:00Z")
            .fetch_all(&db)
            .await
            .unwrap();
            assert!(
                plan.iter()
                    .any(|(.., detail)| detail.contains("payments_by_time")),
                "{plan:?}"
            );
        }
        Backend::Postgres => {
            let (definition,): (String,) = db::query_as(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'payments_pending'",
            )
            .fetch_one(&db)
            .await
            .unwrap();
            assert!(
                definition.contains("WHERE (status = 'pending'"),
                "{definition}"
            );
        }
    }
}
