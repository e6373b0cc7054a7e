//! The agent terminal against a real processing center and a real provider: contract,
//! sync, blocking, the kiosk's cash sessions, the outbox through outages, receipts.

use std::time::Duration;

use portals::role::Role;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_PASSWORD, KIOSK_PASSWORD, TERMINAL_PASSWORD, TestApp, eventually, oversized_json_server,
    send,
};
use crate::processing::{Network, fee_of};
use portals::chaos::proxy::ChaosProxy;

/// What every test terminal's receipts name (`--legal-name`, `--inn`, …).
pub fn receipt_issuer() -> portals::agent::model::ReceiptIssuer {
    portals::agent::model::ReceiptIssuer {
        legal_name: Some("ООО «Тест Платежи»".into()),
        inn: Some("7701000019".into()),
        address: Some("г. Москва, Тестовая ул., д. 2".into()),
        terminal_id: Some("T-000042".into()),
        support_phone: Some("+7 800 555-01-19".into()),
    }
}

pub struct Terminal {
    pub net: Network,
    pub agent: TestApp,
    /// Between the agent and processing.
    pub link: ChaosProxy,
}

impl Terminal {
    pub async fn start(deposit: i64) -> Terminal {
        Self::start_with(deposit, false).await
    }

    /// `kiosk_dev`: the kiosk page without kiosk-shell says how to simulate banknotes.
    pub async fn start_with(deposit: i64, kiosk_dev: bool) -> Terminal {
        Self::start_on(Network::start().await, deposit, kiosk_dev).await
    }

    /// A terminal on a network made elsewhere (e.g. a provider with more payment fields).
    pub async fn start_on(net: Network, deposit: i64, kiosk_dev: bool) -> Terminal {
        Self::start_adjusted(net, deposit, kiosk_dev, |_| {}).await
    }

    /// [`Terminal::start_on`] with the agent's settings adjusted further (e.g. a short
    /// kiosk idle timeout).
    pub async fn start_adjusted(
        net: Network,
        deposit: i64,
        kiosk_dev: bool,
        adjust: impl FnOnce(&mut portals::server::Settings),
    ) -> Terminal {
        if deposit > 0 {
            net.top_up(deposit, "PP-1").await;
        }
        let link = ChaosProxy::start(net.processing.addr)
            .await
            .expect("the proxy listens");
        let agent = TestApp::spawn_with(
            Role::Agent,
            tempfile::tempdir().unwrap(),
            Some(ADMIN_PASSWORD),
            |s| {
                s.kiosk_dev = kiosk_dev;
                s.receipt_issuer = receipt_issuer();
                adjust(s);
            },
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

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        send(&self.agent, method, path, ("admin", ADMIN_PASSWORD), body).await
    }

    pub async fn kiosk(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        send(&self.agent, method, path, ("kiosk", KIOSK_PASSWORD), body).await
    }

    /// As kiosk-shell: the terminal realm.
    pub async fn terminal(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        send(
            &self.agent,
            method,
            path,
            ("terminal", TERMINAL_PASSWORD),
            body,
        )
        .await
    }

    /// kiosk-shell's report of a Russian validator's bill table (10 ₽ … 5000 ₽).
    pub async fn report_bill_table(&self) {
        let table: Vec<Value> = [(2, 10), (3, 50), (4, 100), (5, 500), (6, 1000), (7, 5000)]
            .into_iter()
            .map(|(t, rub)| json!({"bill_type": t, "amount": rub * 100}))
            .collect();
        let (status, body) = self
            .terminal(
                reqwest::Method::PUT,
                "/api/terminal/v1/validator",
                Some(json!({"state": "disabled", "fault": null, "bill_table": table})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// The account checked with the provider, as the page does before opening a session.
    pub async fn check(&self, account: &str) -> Value {
        let (status, check) = self
            .kiosk(
                reqwest::Method::POST,
                "/api/kiosk/v1/checks",
                Some(json!({"provider_id": self.net.provider_id, "account": account})),
            )
            .await;
        assert_eq!(status, 200, "{check}");
        check
    }

    /// Check, then open: the page's way.
    pub async fn checked_session(&self, account: &str) -> i64 {
        assert_eq!(self.check(account).await["result"], 0);
        let (status, session) = self.open_session(account).await;
        assert_eq!(status, 201, "{session}");
        session["session_id"].as_i64().unwrap()
    }

    pub async fn open_session(&self, account: &str) -> (u16, Value) {
        self.kiosk(
            reqwest::Method::POST,
            "/api/kiosk/v1/sessions",
            Some(json!({"provider_id": self.net.provider_id, "account": account})),
        )
        .await
    }

    /// A stacked bill as kiosk-shell reports it (terminal realm).
    pub async fn bill(&self, session: i64, event_id: &str, amount: i64) -> (u16, Value) {
        self.terminal(
            reqwest::Method::POST,
            "/api/terminal/v1/bills",
            Some(json!({"event_id": event_id, "amount": amount, "session_id": session})),
        )
        .await
    }

    pub async fn session(&self, session: i64) -> Value {
        let (status, view) = self
            .kiosk(
                reqwest::Method::GET,
                &format!("/api/kiosk/v1/sessions/{session}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{view}");
        view
    }

    pub async fn wait_receipt(&self, session: i64, status: &str) -> Value {
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
    t.report_bill_table().await;
    let id = t.checked_session(&t.net.account).await;
    assert_eq!(t.bill(id, "ev-1", 50_000).await.1["counted"], true);
    let (_, again) = t.bill(id, "ev-1", 50_000).await;
    assert_eq!(again["counted"], false, "a repeated event is counted once");
    let (_, after) = t.bill(id, "ev-2", 10_000).await;
    assert_eq!(after["session_id"], id);
    let after = t.session(id).await;
    assert_eq!(after["cash"], 60_000);
    assert_eq!(after["agent_fee"], 1_200);
    assert_eq!(after["amount"], 58_800);

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
    // Paying again answers the same receipt; a bill after the pay is not counted into it:
    // it is kept as unassigned cash for the operator.
    let (_, again) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{id}/pay"),
            None,
        )
        .await;
    assert_eq!(again["agent_txn_id"], receipt["agent_txn_id"]);
    let (status, late) = t.bill(id, "ev-3", 10_000).await;
    assert_eq!(status, 200, "{late}");
    assert_eq!(late["session_id"], Value::Null);
    assert_eq!(late["unassigned"], "session_closed");
    assert_eq!(t.session(id).await["cash"], 60_000);
    assert_eq!(t.net.subscriber_balance().await, 58_800);
}

#[tokio::test]
async fn processing_down_during_pay_completes_later_exactly_once() {
    let t = Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let id = t.checked_session(&t.net.account).await;
    assert_eq!(t.bill(id, "ev-1", 100_000).await.0, 200);
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
    t.report_bill_table().await;
    let id = t.checked_session(&t.net.account).await;
    // 100 ₽ + 100 ₽: 200 ₽.
    assert_eq!(t.bill(id, "ev-1", 10_000).await.0, 200);
    assert_eq!(t.bill(id, "ev-2", 10_000).await.0, 200);
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

#[tokio::test]
async fn retention_deletes_sessions_left_without_cash_and_keeps_those_with_cash() {
    let t = Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let account = t.net.account.clone();
    let empty = t.checked_session(&account).await;
    let with_cash = t.checked_session(&account).await;
    let (status, body) = t.bill(with_cash, "R-1", 10_000).await;
    assert!(status == 200 || status == 201, "{body}");
    let pool = t.agent.pool.clone().unwrap();
    // Both sessions, and every check, are made a year old.
    sqlx::query("UPDATE sessions SET created_at = '2025-01-01T00:00:00.000000Z'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE checks SET checked_at = '2025-01-01T00:00:00.000000Z'")
        .execute(&pool)
        .await
        .unwrap();
    let deleted = portals::server::retention::sweep_once(
        &pool.clone().into(),
        portals::agent::server::RETENTION,
        std::time::Duration::from_secs(90 * 86_400),
    )
    .await
    .unwrap();
    assert_eq!(deleted[0].1, 1, "{deleted:?}");
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM sessions ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(ids, vec![(with_cash,)], "the empty session {empty} went");
    let (checks,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM checks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        checks, 1,
        "the check the session with cash was opened on stays"
    );
    assert_eq!(t.session(with_cash).await["cash"], 10_000);
}

/// An answer of processing over the agent's 4 MiB cap is no answer: a contract whose
/// processing answers so is refused as unanswered, and nothing is saved.
#[tokio::test]
async fn an_answer_of_processing_over_the_size_cap_is_no_answer() {
    let money = |amount: i64| json!({"amount": amount, "currency": "RUB"});
    let processing = oversized_json_server(
        json!({
            "agent_id": 1, "balance": money(100_000), "reserved": money(0),
            "available": money(100_000), "blocked": false
        }),
        5 * 1024 * 1024,
    )
    .await;
    let agent = TestApp::spawn(Role::Agent).await;
    let (status, body) = send(
        &agent,
        reqwest::Method::PUT,
        "/api/admin/v1/contract",
        ("admin", ADMIN_PASSWORD),
        Some(json!({
            "processing_url": format!("http://{processing}/api/agent/v1"),
            "contract_number": "AG-000001", "login": "agent-1", "password": "p"
        })),
    )
    .await;
    let text = body.to_string();
    let shown = &text[..text.len().min(300)];
    assert_eq!(status, 422, "{shown}");
    let why = body["error"]["fields"]["processing_url"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("larger than 4194304 bytes"), "{shown}");
    let (status, _) = send(
        &agent,
        reqwest::Method::GET,
        "/api/admin/v1/contract",
        ("admin", ADMIN_PASSWORD),
        None,
    )
    .await;
    assert_eq!(status, 404, "no contract saved");
}
