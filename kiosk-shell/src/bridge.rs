//! The kiosk bridge: the WebSocket at `ws://127.0.0.1:PORT/ccnet?token=T` between the
//! shell and the kiosk page (wire.md "Kiosk bridge").
//!
//! shell → page: `{"type":"state","state","detail","simulator"}` on every change and on
//! connect; `{"type":"bill","event_id","amount","currency":"RUB"}` for each stacked bill,
//! again after every reconnect until the page acks it. page → shell: `enable
//! {max_amount}`, `disable`, `ack {event_id}`, and — only when the shell runs the
//! simulator — `simulate {action}` with a line of the simulator's script language.
//!
//! Only the page kiosk-shell opened may connect: it alone has the per-start token, and
//! its `Origin` must be exactly the portal's (or the `--chromium` proxy's), see
//! [`crate::bridge_guard`]. When the last page goes
//! away the validator is disabled, holding a bill in escrow for a while in case the
//! page comes back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use shared::money::Kopecks;
use shared::serve::ServeLimits;
use tokio::sync::broadcast;

use crate::bridge_guard::BridgeGuard;
use crate::ccnet::driver::{Control, Event, ValidatorState};
use crate::ccnet::script::{self, Action};
use crate::journal::{Journal, StackedBill};

/// Shared by every connection.
pub struct Hub {
    state: Mutex<(ValidatorState, String)>,
    out: broadcast::Sender<String>,
    journal: Arc<Mutex<Journal>>,
    controls: std::sync::mpsc::Sender<Control>,
    clients: AtomicUsize,
    guard: BridgeGuard,
    simulator: Option<std::sync::mpsc::Sender<Action>>,
    /// Bounds the page's `enable` by what the agent allows (set when there is an agent).
    enable_gate: std::sync::OnceLock<Arc<crate::reporter::EnableGate>>,
}

/// shell → page.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Outgoing<'a> {
    State {
        state: ValidatorState,
        detail: &'a str,
        simulator: bool,
    },
    Bill {
        event_id: &'a str,
        amount: Kopecks,
        currency: &'static str,
    },
    Error {
        detail: String,
    },
}

/// page → shell.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Incoming {
    Enable { max_amount: Kopecks },
    Disable,
    Ack { event_id: String },
    Simulate { action: String },
}

impl Hub {
    pub fn new(
        journal: Arc<Mutex<Journal>>,
        controls: std::sync::mpsc::Sender<Control>,
        guard: BridgeGuard,
        simulator: Option<std::sync::mpsc::Sender<Action>>,
    ) -> Arc<Hub> {
        let (out, _) = broadcast::channel(256);
        Arc::new(Hub {
            state: Mutex::new((ValidatorState::Disabled, "starting".into())),
            out,
            journal,
            controls,
            clients: AtomicUsize::new(0),
            guard,
            simulator,
            enable_gate: std::sync::OnceLock::new(),
        })
    }

    /// From now on an `enable` takes at most what the agent allows (see
    /// [`crate::reporter::EnableGate`]); set once, at start.
    pub fn set_enable_gate(&self, gate: Arc<crate::reporter::EnableGate>) {
        let _ = self.enable_gate.set(gate);
    }

    /// Passes a driver event on to every page.
    pub fn publish(&self, event: Event) {
        let text = match &event {
            Event::State { state, detail } => {
                if let Ok(mut current) = self.state.lock() {
                    *current = (*state, detail.clone());
                }
                self.state_message(*state, detail)
            }
            Event::Bill(bill) => bill_message(bill),
        };
        // No page connected: the bill stays in the journal and goes out on connect.
        let _ = self.out.send(text);
    }

    /// The validator's last state.
    pub fn state(&self) -> (ValidatorState, String) {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or((ValidatorState::Fault, "state unavailable".into()))
    }

    fn state_message(&self, state: ValidatorState, detail: &str) -> String {
        to_json(&Outgoing::State {
            state,
            detail,
            simulator: self.simulator.is_some(),
        })
    }

    fn unacked(&self) -> Vec<StackedBill> {
        self.journal
            .lock()
            .map(|j| j.unacked().to_vec())
            .unwrap_or_default()
    }
}

fn bill_message(bill: &StackedBill) -> String {
    to_json(&Outgoing::Bill {
        event_id: &bill.event_id,
        amount: bill.amount,
        currency: "RUB",
    })
}

fn to_json(message: &Outgoing<'_>) -> String {
    serde_json::to_string(message).unwrap_or_else(|_| "{}".into())
}

/// The bridge's routes: the WebSocket, a JSON status for diagnosis, and the simulator's
/// script input.
pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/ccnet", get(upgrade))
        .route("/", get(status))
        .route("/healthz", get(|| async { "ok" }))
        .route("/sim", post(simulate))
        .with_state(hub)
}

/// The bridge listener's limits: the participants' header-read and request timeouts, so
/// a local client that never finishes its headers is cut off as it would be on any
/// participant, and a small connection cap — its clients are the one page kiosk-shell
/// opened (a few connections while it reloads) and an operator's curl.
///
/// An upgraded WebSocket is outside both: the request timeout covers the handshake's
/// answer only, and the connection leaves the cap once it is upgraded (a page stays
/// connected for as long as the kiosk runs; only a page with the token gets that far).
pub const LIMITS: ServeLimits = ServeLimits {
    max_connections: 64,
    header_read_timeout: shared::serve::HEADER_READ_TIMEOUT,
    request_timeout: shared::serve::REQUEST_TIMEOUT,
};

/// Serves the bridge within `limits` until `shutdown` resolves, on the participants'
/// serving loop (plain HTTP: the bridge is for the kiosk's own machine, on loopback by
/// default).
pub async fn serve(
    listener: tokio::net::TcpListener,
    hub: Arc<Hub>,
    limits: ServeLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    shared::serve::serve(
        listener,
        router(hub),
        None,
        limits,
        Arc::default(),
        shutdown,
    )
    .await
}

async fn status(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    let (state, detail) = hub.state();
    axum::Json(serde_json::json!({
        "state": state,
        "detail": detail,
        "unacked": hub.unacked().len(),
        "pages": hub.clients.load(Ordering::Relaxed),
        "simulator": hub.simulator.is_some(),
    }))
}

/// `POST /sim?token=T` with script lines: drives the built-in simulator (curl-friendly).
async fn simulate(
    State(hub): State<Arc<Hub>>,
    RawQuery(query): RawQuery,
    body: String,
) -> Response {
    if let Err(refusal) = hub.guard.admit_token(query.as_deref()) {
        tracing::warn!(%refusal, "bridge: simulator input refused");
        return (
            StatusCode::FORBIDDEN,
            "the simulator needs the bridge's token\n",
        )
            .into_response();
    }
    match run_script(&hub, &body) {
        Ok(n) => (StatusCode::OK, format!("{n} action(s) queued\n")).into_response(),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, format!("{e}\n")).into_response(),
    }
}

fn run_script(hub: &Hub, text: &str) -> Result<usize, String> {
    let Some(sim) = hub.simulator.clone() else {
        return Err("this shell drives a real validator, not the simulator".into());
    };
    let actions = script::parse(text).map_err(|e| e.to_string())?;
    let n = actions.len();
    if n == 0 {
        return Err("no actions: send script lines such as `insert-rub 500`".into());
    }
    // `wait` lines sleep: play the script off the async runtime.
    std::thread::spawn(move || crate::ccnet::sim::play(actions, &sim));
    Ok(n)
}

async fn upgrade(
    State(hub): State<Arc<Hub>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(refusal) = hub.guard.admit_page(query.as_deref(), &headers) {
        // The origin as received, escaped by Debug; the token is never logged.
        tracing::warn!(%refusal, origin = ?headers.get(header::ORIGIN), "bridge: connection refused");
        return (
            StatusCode::FORBIDDEN,
            "only the kiosk page kiosk-shell opened may use the bridge",
        )
            .into_response();
    }
    ws.on_upgrade(move |socket| page_session(socket, hub))
}

async fn page_session(mut socket: WebSocket, hub: Arc<Hub>) {
    let mut updates = hub.out.subscribe();
    let pages = hub.clients.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::info!(pages, "bridge: page connected");
    if greet(&mut socket, &hub).await.is_ok() {
        loop {
            tokio::select! {
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(reply) = on_message(&hub, text.as_str()).await
                            && socket.send(Message::Text(reply.into())).await.is_err()
                        {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                update = updates.recv() => match update {
                    Ok(text) => {
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    // Too slow a reader: start over from the current state and the journal.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if greet(&mut socket, &hub).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    }
    let left = hub.clients.fetch_sub(1, Ordering::SeqCst) - 1;
    tracing::info!(pages = left, "bridge: page disconnected");
    if left == 0 {
        let _ = hub.controls.send(Control::PageLost);
    }
}

/// The current state, then every bill the page has not acknowledged.
async fn greet(socket: &mut WebSocket, hub: &Hub) -> Result<(), axum::Error> {
    let (state, detail) = hub.state();
    socket
        .send(Message::Text(hub.state_message(state, &detail).into()))
        .await?;
    for bill in hub.unacked() {
        tracing::info!(event_id = %bill.event_id, "bridge: re-sending an unacknowledged bill");
        socket
            .send(Message::Text(bill_message(&bill).into()))
            .await?;
    }
    Ok(())
}

/// Acts on one page message; returns an error message for the page, if any.
async fn on_message(hub: &Arc<Hub>, text: &str) -> Option<String> {
    let message: Incoming = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            return Some(to_json(&Outgoing::Error {
                detail: format!("not a bridge message: {e}"),
            }));
        }
    };
    tracing::debug!(?message, "bridge: from the page");
    let control = match message {
        Incoming::Enable { max_amount } if max_amount.is_positive() => {
            match hub.enable_gate.get() {
                None => Control::Enable { max_amount },
                Some(gate) => match gate.allow(max_amount).await {
                    Ok(max_amount) => Control::Enable { max_amount },
                    Err(detail) => {
                        tracing::warn!(%detail, "bridge: enable refused");
                        let _ = hub.controls.send(Control::Disable);
                        return Some(to_json(&Outgoing::Error { detail }));
                    }
                },
            }
        }
        Incoming::Enable { .. } => {
            return Some(to_json(&Outgoing::Error {
                detail: "max_amount must be a positive number of kopecks".into(),
            }));
        }
        Incoming::Disable => Control::Disable,
        Incoming::Ack { event_id } => {
            let journal = hub.journal.clone();
            let id = event_id.clone();
            // An fsync: off the async workers.
            let acked = tokio::task::spawn_blocking(move || {
                journal
                    .lock()
                    .map_err(|_| std::io::Error::other("journal lock poisoned"))
                    .and_then(|mut j| j.ack(&id))
            })
            .await;
            return match acked {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => {
                    tracing::error!(%event_id, error = %e, "cannot record the ack; the bill will be sent again");
                    None
                }
                Err(e) => {
                    tracing::error!(error = %e, "ack task failed");
                    None
                }
            };
        }
        Incoming::Simulate { action } => {
            return run_script(hub, &action)
                .err()
                .map(|detail| to_json(&Outgoing::Error { detail }));
        }
    };
    if hub.controls.send(control).is_err() {
        return Some(to_json(&Outgoing::Error {
            detail: "the validator driver has stopped".into(),
        }));
    }
    None
}
