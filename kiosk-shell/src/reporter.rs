//! The shell's reports to the agent, in the terminal realm (`/api/terminal/v1`, login
//! `terminal`): the only way cash reaches the agent. The kiosk page has no part in it.
//!
//! * **Bills, store-and-forward.** Every bill the driver journaled is sent
//!   (`POST /bills`) until the agent answers for it — counted into its session, kept as
//!   unassigned cash, or refused — and the answer is journaled (`delivered.jsonl`), so an
//!   agent outage or a shell restart delays a bill but never loses or doubles it (the agent
//!   counts an `event_id` once). Failures back off from 1 s to 30 s.
//! * **The validator** (`PUT /validator`): its state, the fault that blocks the terminal,
//!   and the bill table read from the unit — the agent credits only its denominations.
//!   Said on every change and every 30 s (the agent keeps the fault in memory).
//! * **The enable gate.** When the page asks to enable the validator, the shell asks the
//!   agent how much the session may still take (`GET /limit`) and enables the smaller of
//!   the page's and the agent's figure, less the bills of that session still on their way.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::money::Kopecks;
use shared::outbound::{ReadError, read_capped, read_text_capped};
use tokio::sync::Notify;

use crate::ccnet::bill_table::BillTable;
use crate::ccnet::driver::{BillSink, ValidatorState};
use crate::journal::{Journal, StackedBill};

/// The longest wait for one answer of the agent.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// First and longest wait before a failed report is tried again.
const RETRY_DELAY_MIN: Duration = Duration::from_secs(1);
const RETRY_DELAY_MAX: Duration = Duration::from_secs(30);
/// The validator's state is said again this often even when nothing changed.
const REPEAT_EVERY: Duration = Duration::from_secs(30);
/// The largest answer of the agent that is read. Its terminal answers are a few dozen
/// bytes of JSON (an error body a few hundred); anything near this is not an answer, and
/// is not buffered: it is treated as no answer and the call is made again later.
const ANSWER_MAX_BYTES: usize = 16 * 1024;

/// kiosk-shell's own credential at the agent (`--terminal-login/--terminal-password`).
#[derive(Clone)]
pub struct TerminalCredential {
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for TerminalCredential {
    // The password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalCredential")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// Why a call to the agent did not get its answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the agent cannot be reached: {0}")]
    Unreachable(String),
    /// The agent understood and said no (4xx other than a retryable one).
    #[error("the agent refused ({status}): {body}")]
    Refused { status: u16, body: String },
    /// The agent asks for the bill table first (409 `bill_table_unknown`).
    #[error("the agent does not know the bill table yet")]
    NeedsTable,
    #[error("the agent answered {0}; trying again later")]
    Retry(u16),
    /// An answer that cannot be used (too large, not the JSON expected): as if there were
    /// none, so the call is made again later.
    #[error("the agent's answer cannot be used ({0}); trying again later")]
    Unusable(String),
}

/// The agent's figure for the validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Limit {
    pub session_id: Option<i64>,
    pub max_amount: Kopecks,
}

/// The agent's answer for a bill.
#[derive(Debug, Clone, Deserialize)]
struct BillAnswer {
    session_id: Option<i64>,
    unassigned: Option<String>,
}

#[derive(Debug, Serialize)]
struct BillReport<'a> {
    event_id: &'a str,
    amount: Kopecks,
    session_id: Option<i64>,
    bill_type: u8,
    stacked_at: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
struct Denomination {
    bill_type: u8,
    amount: Kopecks,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct ValidatorReport {
    state: ValidatorState,
    fault: Option<String>,
    bill_table: Option<Vec<Denomination>>,
}

/// The HTTP client every call to the agent goes through: HTTP or HTTPS, trusting the
/// system's roots plus `--ca-file`.
fn http_client(trust: &shared::outbound::Trust) -> reqwest::Client {
    match trust.client_builder().timeout(CALL_TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTPS client for the agent; using a plain one");
            reqwest::Client::new()
        }
    }
}

/// The agent's terminal API.
pub struct AgentLink {
    client: reqwest::Client,
    base: reqwest::Url,
    credential: TerminalCredential,
}

impl AgentLink {
    pub fn new(
        portal: &reqwest::Url,
        credential: TerminalCredential,
        trust: &shared::outbound::Trust,
    ) -> AgentLink {
        let mut base = portal.clone();
        base.set_path("/api/terminal/v1/");
        base.set_query(None);
        AgentLink {
            client: http_client(trust),
            base,
            credential,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<reqwest::Response, CallError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| CallError::Unreachable(e.to_string()))?;
        let mut request = self
            .client
            .request(method, url)
            .basic_auth(&self.credential.login, Some(&self.credential.password));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| CallError::Unreachable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let code = status.as_u16();
        // Read up to the cap; what is kept of it is for the log.
        let body = read_text_capped(response, ANSWER_MAX_BYTES)
            .await
            .map_err(not_read)?;
        let body: String = body.chars().take(300).collect();
        if code == 409 && body.contains("bill_table_unknown") {
            return Err(CallError::NeedsTable);
        }
        // Only a refusal of the bill itself is final (422, or 400 for a body the agent could
        // not read). A wrong credential (401) is fixed by the operator and the bill must
        // still go through then; 5xx, 408, 409, 429 pass too.
        if code == 400 || code == 422 {
            return Err(CallError::Refused { status: code, body });
        }
        if code == 401 || code == 403 {
            tracing::error!(
                status = code,
                "the agent refuses the terminal credential (--terminal-password)"
            );
        }
        Err(CallError::Retry(code))
    }

    /// How much cash the validator may take now, and for which session.
    pub async fn limit(&self) -> Result<Limit, CallError> {
        let answer = self
            .call(reqwest::Method::GET, "limit", None::<&()>)
            .await?;
        read_json(answer).await
    }

    async fn report_validator(&self, report: &ValidatorReport) -> Result<(), CallError> {
        self.call(reqwest::Method::PUT, "validator", Some(report))
            .await
            .map(drop)
    }

    async fn report_bill(&self, bill: &StackedBill) -> Result<BillAnswer, CallError> {
        let report = BillReport {
            event_id: &bill.event_id,
            amount: bill.amount,
            session_id: bill.session_id,
            bill_type: bill.bill_type,
            stacked_at: &bill.stacked_at,
        };
        let answer = self
            .call(reqwest::Method::POST, "bills", Some(&report))
            .await?;
        read_json(answer).await
    }
}

/// Why an answer's body was not read, as a call's failure (either way, tried again).
fn not_read(error: ReadError) -> CallError {
    match error {
        ReadError::TooLarge { .. } => CallError::Unusable(error.to_string()),
        ReadError::Transport(e) => CallError::Unreachable(shared::outbound::describe_error(&e)),
    }
}

/// A successful answer's JSON, read within [`ANSWER_MAX_BYTES`].
async fn read_json<T: DeserializeOwned>(answer: reqwest::Response) -> Result<T, CallError> {
    let body = read_capped(answer, ANSWER_MAX_BYTES)
        .await
        .map_err(not_read)?;
    serde_json::from_slice(&body)
        .map_err(|e| CallError::Unusable(format!("not the JSON expected: {e}")))
}

/// What the reporter last learned of the validator.
#[derive(Default)]
struct Observed {
    state: Option<(ValidatorState, String)>,
}

/// Sends the journal's bills and the validator's reports to the agent.
pub struct Reporter {
    link: Arc<AgentLink>,
    journal: Arc<Mutex<Journal>>,
    observed: Mutex<Observed>,
    wake: Notify,
}

impl Reporter {
    /// Starts the reporting task.
    pub fn spawn(link: Arc<AgentLink>, journal: Arc<Mutex<Journal>>) -> Arc<Reporter> {
        let reporter = Arc::new(Reporter {
            link,
            journal,
            observed: Mutex::new(Observed::default()),
            wake: Notify::new(),
        });
        let weak = Arc::downgrade(&reporter);
        if let Ok(mut journal) = reporter.journal.lock() {
            journal.on_table_kept(Box::new(move || {
                if let Some(reporter) = weak.upgrade() {
                    reporter.wake.notify_one();
                }
            }));
        }
        tokio::spawn(reporter.clone().run());
        reporter
    }

    /// The driver's state changed (the bill table may have been read).
    pub fn observe_state(&self, state: ValidatorState, detail: &str) {
        if let Ok(mut observed) = self.observed.lock() {
            observed.state = Some((state, detail.to_owned()));
        }
        self.wake.notify_one();
    }

    /// A bill was journaled: send it now.
    pub fn bill_stacked(&self) {
        self.wake.notify_one();
    }

    fn validator_report(&self) -> Option<ValidatorReport> {
        let (state, detail) = self.observed.lock().ok()?.state.clone()?;
        let table = self.journal.remembered_table().map(|t| denominations(&t));
        Some(ValidatorReport {
            state,
            fault: (state == ValidatorState::Fault).then_some(detail),
            bill_table: table,
        })
    }

    async fn run(self: Arc<Reporter>) {
        let mut sent: Option<ValidatorReport> = None;
        let mut sent_at = tokio::time::Instant::now();
        let mut delay = RETRY_DELAY_MIN;
        loop {
            let outcome = self.round(&mut sent, &mut sent_at).await;
            let wait = match outcome {
                Ok(()) => {
                    delay = RETRY_DELAY_MIN;
                    REPEAT_EVERY
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?delay, "reporting to the agent failed");
                    let wait = delay;
                    delay = (delay * 2).min(RETRY_DELAY_MAX);
                    wait
                }
            };
            // A new bill or state wakes us early; a failing agent is not hammered though:
            // after a failure only the back-off ends the wait.
            if delay == RETRY_DELAY_MIN {
                let _ = tokio::time::timeout(wait, self.wake.notified()).await;
            } else {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// One pass: the validator's report when due, then every undelivered bill in order.
    async fn round(
        &self,
        sent: &mut Option<ValidatorReport>,
        sent_at: &mut tokio::time::Instant,
    ) -> Result<(), CallError> {
        if let Some(report) = self.validator_report()
            && (sent.as_ref() != Some(&report) || sent_at.elapsed() >= REPEAT_EVERY)
        {
            self.link.report_validator(&report).await?;
            *sent = Some(report);
            *sent_at = tokio::time::Instant::now();
        }
        let pending: Vec<StackedBill> = self
            .journal
            .lock()
            .map(|j| j.undelivered().to_vec())
            .unwrap_or_default();
        for bill in pending {
            let outcome = match self.link.report_bill(&bill).await {
                Ok(answer) => match (answer.session_id, answer.unassigned) {
                    (Some(id), _) => format!("credited to session {id}"),
                    (None, why) => format!("unassigned: {}", why.unwrap_or_default()),
                },
                Err(CallError::Refused { status, body }) => {
                    // The agent will never take it (not a denomination it knows, …): keep
                    // it in the journal for the operator, and stop sending it.
                    tracing::error!(event_id = %bill.event_id, amount = %bill.amount, status, body = %body,
                        "the agent refused a stacked bill; it stays in the journal for the operator");
                    format!("refused {status}: {body}")
                }
                Err(CallError::NeedsTable) => {
                    // Said again on the next pass, before the bills.
                    *sent = None;
                    return Err(CallError::NeedsTable);
                }
                Err(e) => return Err(e),
            };
            tracing::info!(event_id = %bill.event_id, amount = %bill.amount, %outcome, "bill reported to the agent");
            let journal = self.journal.clone();
            let id = bill.event_id.clone();
            // An fsync: off the async workers.
            let written = tokio::task::spawn_blocking(move || {
                journal
                    .lock()
                    .map_err(|_| std::io::Error::other("journal lock poisoned"))
                    .and_then(|mut j| j.delivered(&id, &outcome))
            })
            .await;
            if !matches!(written, Ok(Ok(()))) {
                // Sent again later; the agent counts it once.
                tracing::error!(event_id = %bill.event_id, "cannot journal the agent's answer");
            }
        }
        Ok(())
    }
}

/// The unit's rouble bills (the driver takes no other currency).
fn denominations(table: &BillTable) -> Vec<Denomination> {
    table
        .entries()
        .iter()
        .filter(|d| d.country == "RUS")
        .map(|d| Denomination {
            bill_type: d.bill_type,
            amount: d.value,
        })
        .collect()
}

/// Decides how much the validator may take when the page asks to enable it.
pub struct EnableGate {
    link: Option<Arc<AgentLink>>,
    journal: Arc<Mutex<Journal>>,
}

impl EnableGate {
    /// `link`: `None` when the shell has no terminal credential — then it takes no cash.
    pub fn new(link: Option<Arc<AgentLink>>, journal: Arc<Mutex<Journal>>) -> EnableGate {
        EnableGate { link, journal }
    }

    /// The most the validator may take: the page's figure, the agent's, less the bills of
    /// the agent's session still on their way to it. Bills stacked from now on belong to
    /// that session. An error says why no cash may be taken.
    pub async fn allow(&self, page_max: Kopecks) -> Result<Kopecks, String> {
        let Some(link) = &self.link else {
            return Err(
                "kiosk-shell has no terminal credential (--terminal-password): it takes no cash"
                    .into(),
            );
        };
        let limit = link
            .limit()
            .await
            .map_err(|e| format!("no cash while the agent cannot say how much: {e}"))?;
        let mut journal = self
            .journal
            .lock()
            .map_err(|_| "journal lock poisoned".to_string())?;
        journal.set_session(limit.session_id);
        let on_the_way = journal
            .undelivered()
            .iter()
            .filter(|b| limit.session_id.is_some() && b.session_id == limit.session_id)
            .try_fold(Kopecks::ZERO, |sum, b| sum.checked_add(b.amount))
            .unwrap_or(Kopecks::MAX);
        let agent_room = limit
            .max_amount
            .checked_sub(on_the_way)
            .unwrap_or(Kopecks::ZERO);
        let allowed = page_max.min(agent_room);
        if !allowed.is_positive() {
            return Err("the agent allows no more cash for this session".into());
        }
        if allowed < page_max {
            tracing::info!(page = %page_max, agent = %limit.max_amount, %on_the_way, %allowed,
                "the validator is enabled for less than the page asked");
        }
        Ok(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    /// What the fake agent answers every call with: a status and a body.
    type Answer = Arc<Mutex<(StatusCode, String)>>;

    /// An agent whose terminal API answers whatever `answer` holds; its link.
    async fn fake_agent(answer: Answer) -> AgentLink {
        let router = axum::Router::new().fallback(move || {
            let answer = answer.lock().unwrap().clone();
            async move { answer.into_response() }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let portal =
            reqwest::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let credential = TerminalCredential {
            login: "terminal".into(),
            password: "terminal-test-password".into(),
        };
        AgentLink::new(&portal, credential, &shared::outbound::Trust::system())
    }

    /// Valid JSON of the bill answer's shape, far larger than any real answer.
    fn oversized_bill_answer() -> String {
        format!(
            r#"{{"session_id":null,"unassigned":"{}"}}"#,
            "x".repeat(4 * ANSWER_MAX_BYTES)
        )
    }

    #[tokio::test]
    async fn an_oversized_answer_of_the_agent_is_no_answer_and_the_bill_is_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Mutex::new(Journal::open(dir.path()).unwrap()));
        let bill = journal
            .lock()
            .unwrap()
            .record(4, Kopecks::new(10_000), false)
            .unwrap();
        let answer: Answer = Arc::new(Mutex::new((StatusCode::OK, oversized_bill_answer())));
        let reporter = Reporter {
            link: Arc::new(fake_agent(answer.clone()).await),
            journal: journal.clone(),
            observed: Mutex::new(Observed::default()),
            wake: Notify::new(),
        };
        let undelivered = || journal.lock().unwrap().undelivered().to_vec();
        let round = || async {
            let (mut sent, mut sent_at) = (None, tokio::time::Instant::now());
            reporter.round(&mut sent, &mut sent_at).await
        };

        // A success with a body over the cap: not read, the bill is kept for later.
        let outcome = round().await;
        assert!(
            matches!(outcome, Err(CallError::Unusable(_))),
            "{outcome:?}"
        );
        assert_eq!(undelivered(), vec![bill.clone()]);
        // A refusal with a body over the cap is no refusal either: the bill is not given up.
        *answer.lock().unwrap() = (StatusCode::UNPROCESSABLE_ENTITY, oversized_bill_answer());
        let outcome = round().await;
        assert!(
            matches!(outcome, Err(CallError::Unusable(_))),
            "{outcome:?}"
        );
        assert_eq!(undelivered(), vec![bill]);
        // An answer of the usual size is taken.
        *answer.lock().unwrap() = (
            StatusCode::OK,
            r#"{"session_id":7,"unassigned":null}"#.into(),
        );
        round().await.unwrap();
        assert!(undelivered().is_empty());
    }

    #[tokio::test]
    async fn an_oversized_limit_is_no_limit() {
        let limit = format!(
            r#"{{"session_id":1,"max_amount":100000,"padding":"{}"}}"#,
            "x".repeat(4 * ANSWER_MAX_BYTES)
        );
        let answer: Answer = Arc::new(Mutex::new((StatusCode::OK, limit)));
        let link = fake_agent(answer).await;
        let outcome = link.limit().await;
        assert!(
            matches!(outcome, Err(CallError::Unusable(_))),
            "{outcome:?}"
        );
    }
}
