//! The agent terminal against a real processing center and a real provider: contract,
//! sync, blocking, the kiosk's cash sessions, the outbox through outages, receipts.

use std::time::Duration;

use portals::role::Role;
use serde_json::{Value, json};

use crate::chaos::ChaosProxy;
use crate::helpers::{ADMIN_PASSWORD, KIOSK_PASSWORD, TestApp, eventually, send};
use crate::processing::{Network, fee_of};

pub struct Terminal {
    pub net: Network,
    pub agent: TestApp,
    /// Between the agent and processing.
    link: ChaosProxy,
}

impl Terminal {
    async fn start(deposit: i64) -> Terminal {
        Self::start_with(deposit, false).await
    }

    /// `kiosk_dev`: the kiosk page offers simulated banknotes.
    pub async fn start_with(deposit: i64, kiosk_dev: bool) -> Terminal {
        let net = Network::start().await;
        if deposit > 0 {
            net.top_up(deposit, "PP-1").await;
        }
        let link = ChaosProxy::start(net.processing.addr).await;
        let agent = TestApp::spawn_with(
            Role::Agent,
            tempfile::tempdir().unwrap(),
            Some(ADMIN_PASSWORD),
            |s| s.kiosk_dev = kiosk_dev,
        )
        .await
        .unwrap();
        let t = Terminal { net, agent, link };
        let (status, body) = t
            .admin(
                reqwest::Method::PUT,
                "/api/admin/v1/contract",
                Some(t.contract(&t.net.agent_password)),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        t
    }

    fn contract(&self, password: &str) -> Value {
        json!({
            "processing_url": format!("http://{}/api/agent/v1", self.link.addr),
            "contract_number": "AG-000001", "login": self.net.agent_login, "password": password
        })
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        send(&self.agent, method, path, ("admin", ADMIN_PASSWORD), body).await
    }

    async fn kiosk(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        send(&self.agent, method, path, ("kiosk", KIOSK_PASSWORD), body).await
    }

    async fn open_session(&self, account: &str) -> (u16, Value) {
        self.kiosk(
            reqwest::Method::POST,
            "/api/kiosk/v1/sessions",
            Some(json!({"provider_id": self.net.provider_id, "account": account})),
        )
        .await
    }

    async fn bill(&self, session: i64, event_id: &str, amount: i64) -> (u16, Value) {
        self.kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{session}/bills"),
            Some(json!({"event_id": event_id, "amount": amount})),
        )
        .await
    }

    async fn wait_receipt(&self, session: i64, status: &str) -> Value {
        let path = format!("/api/kiosk/v1/sessions/{session}/receipt");
        eventually(&format!("the payment to become {status}"), || async {
            let (_, receipt) = self.kiosk(reqwest::Method::GET, &path, None).await;
            if receipt["status"] == status {
                Ok(receipt)
            } else {
                Err(receipt.to_string())
            }
        })
        .await
    }
}

#[tokio::test]
async fn a_customer_pays_with_two_bills_and_the_subscriber_balance_rises() {
    let t = Terminal::start(1_000_000).await;
    // The agent's own fee for the public: 2 %.
    assert_eq!(
        t.admin(
            reqwest::Method::PUT,
            "/api/admin/v1/fee",
            Some(json!({"percent_bp": 200}))
        )
        .await
        .0,
        200
    );
    let (_, status) = t
        .admin(reqwest::Method::GET, "/api/admin/v1/status", None)
        .await;
    assert_eq!(status["blocked"], false, "{status}");
    assert!(status["catalog_version"].is_string());
    assert_eq!(status["balance"]["amount"], 1_000_000);

    let (_, state) = t
        .kiosk(reqwest::Method::GET, "/api/kiosk/v1/state", None)
        .await;
    assert_eq!(state["providers"][0]["name"], "Megafon");
    let (_, check) = t
        .kiosk(
            reqwest::Method::POST,
            "/api/kiosk/v1/checks",
            Some(json!({"provider_id": t.net.provider_id, "account": t.net.account})),
        )
        .await;
    assert_eq!(check["result"], 0);

    let (status, session) = t.open_session(&t.net.account).await;
    assert_eq!(status, 201, "{session}");
    let id = session["session_id"].as_i64().unwrap();
    assert_eq!(t.bill(id, "ev-1", 50_000).await.1["counted"], true);
    let (_, again) = t.bill(id, "ev-1", 50_000).await;
    assert_eq!(again["counted"], false, "a repeated event is counted once");
    let (_, after) = t.bill(id, "ev-2", 10_000).await;
    assert_eq!(after["session"]["cash"], 60_000);
    assert_eq!(after["session"]["agent_fee"], 1_200);
    assert_eq!(after["session"]["amount"], 58_800);

    let (status, receipt) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{id}/pay"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["status"], "completed");
    assert_eq!(receipt["cash"], 60_000);
    assert_eq!(receipt["agent_fee"], 1_200);
    assert_eq!(receipt["amount"], 58_800);
    assert_eq!(receipt["agent"], "AG-000001");
    assert!(receipt["payment_id"].as_i64().is_some());
    assert_eq!(t.net.subscriber_balance().await, 58_800);
    assert_eq!(
        t.net.agent_balance().await["balance"]["amount"],
        1_000_000 - 58_800 - fee_of(58_800)
    );
    t.net.assert_ledger_verifies().await;
    // Paying again answers the same receipt; a bill after the pay is not counted.
    let (_, again) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{id}/pay"),
            None,
        )
        .await;
    assert_eq!(again["agent_txn_id"], receipt["agent_txn_id"]);
    assert_eq!(t.bill(id, "ev-3", 10_000).await.0, 422);
    assert_eq!(t.net.subscriber_balance().await, 58_800);
}

#[tokio::test]
async fn processing_down_during_pay_completes_later_exactly_once() {
    let t = Terminal::start(1_000_000).await;
    let (_, session) = t.open_session(&t.net.account).await;
    let id = session["session_id"].as_i64().unwrap();
    t.bill(id, "ev-1", 100_000).await;
    t.link.break_link();
    let (status, receipt) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{id}/pay"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(receipt["status"], "queued", "stored, on its way: {receipt}");
    let (_, status_now) = t
        .admin(reqwest::Method::GET, "/api/admin/v1/status", None)
        .await;
    assert_eq!(status_now["outbox_pending"], 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(t.net.subscriber_balance().await, 0);
    t.link.restore();
    t.wait_receipt(id, "completed").await;
    assert_eq!(
        t.net.subscriber_balance().await,
        100_000,
        "credited exactly once"
    );
    assert_eq!(t.net.provider_payments().await, 1);
    t.net.assert_ledger_verifies().await;
}

#[tokio::test]
async fn a_terminal_without_funds_is_blocked_and_takes_no_cash() {
    let t = Terminal::start(0).await;
    let (_, status) = t
        .admin(reqwest::Method::GET, "/api/admin/v1/status", None)
        .await;
    assert_eq!(status["blocked"], true);
    assert_eq!(status["blocked_reasons"], json!(["no_funds"]));
    let (code, refused) = t.open_session(&t.net.account).await;
    assert_eq!(code, 409);
    assert_eq!(refused["error"]["code"], "terminal_blocked");
    // Topped up and synced: open again.
    t.net.top_up(10_000, "PP-9").await;
    let (_, status) = t
        .admin(reqwest::Method::POST, "/api/admin/v1/sync", None)
        .await;
    assert_eq!(status["blocked"], false, "{status}");
    assert_eq!(t.open_session(&t.net.account).await.0, 201);
}

#[tokio::test]
async fn accounts_failing_the_regex_are_refused_before_anyone_is_asked() {
    let t = Terminal::start(100_000).await;
    let (code, body) = t.open_session("12345").await;
    assert_eq!(code, 422);
    assert!(body["error"]["fields"]["account"].is_string());
    let (code, _) = t
        .kiosk(
            reqwest::Method::POST,
            "/api/kiosk/v1/checks",
            Some(json!({"provider_id": t.net.provider_id, "account": "9'; --"})),
        )
        .await;
    assert_eq!(code, 422);
}

#[tokio::test]
async fn a_contract_is_saved_only_when_processing_accepts_it() {
    let t = Terminal::start(100_000).await;
    let (code, body) = t
        .admin(
            reqwest::Method::PUT,
            "/api/admin/v1/contract",
            Some(t.contract("wrong-password")),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert!(body["error"]["fields"]["password"].is_string());
    let (_, saved) = t
        .admin(reqwest::Method::GET, "/api/admin/v1/contract", None)
        .await;
    assert_eq!(
        saved["login"],
        t.net.agent_login.as_str(),
        "the good contract is still in force"
    );
    assert!(saved.get("password").is_none());
    // Processing unreachable: refused too, and the last known data stays in use.
    t.link.break_link();
    let (code, _) = t
        .admin(
            reqwest::Method::PUT,
            "/api/admin/v1/contract",
            Some(t.contract(&t.net.agent_password)),
        )
        .await;
    assert_eq!(code, 422);
    let (_, status) = t
        .admin(reqwest::Method::POST, "/api/admin/v1/sync", None)
        .await;
    assert!(status["catalog_error"].is_string());
    assert!(
        status["catalog_version"].is_string(),
        "the last catalog stays in use"
    );
    assert_eq!(status["blocked"], false);
}

#[tokio::test]
async fn a_payment_in_the_outbox_survives_a_restart_of_the_terminal() {
    let t = Terminal::start(1_000_000).await;
    let (_, session) = t.open_session(&t.net.account).await;
    let id = session["session_id"].as_i64().unwrap();
    t.bill(id, "ev-1", 20_000).await;
    t.link.break_link();
    let (_, receipt) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{id}/pay"),
            None,
        )
        .await;
    assert_eq!(receipt["status"], "queued");

    // The terminal goes down with the payment undelivered, and comes back on the same data.
    let Terminal { net, agent, link } = t;
    let dir = agent.stop().await;
    link.restore();
    let agent = TestApp::spawn_with(Role::Agent, dir, Some(ADMIN_PASSWORD), |_| {})
        .await
        .unwrap();
    let t = Terminal { net, agent, link };
    let delivered = t.wait_receipt(id, "completed").await;
    assert_eq!(
        delivered["agent_txn_id"], receipt["agent_txn_id"],
        "the same payment, not a new one"
    );
    assert_eq!(t.net.subscriber_balance().await, 20_000);
    assert_eq!(t.net.provider_payments().await, 1);
    t.net.assert_ledger_verifies().await;
}
