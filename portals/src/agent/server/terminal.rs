//! The terminal's own API, `/api/terminal/v1` (realm `terminal`, login `terminal`): what
//! kiosk-shell — and nothing else — tells the agent about the bill validator and the cash
//! in its cassette. The kiosk page's realm has no way to add cash; this realm has no way to
//! open, check or pay a session.
//!
//! * `PUT /validator` `{"state","detail","fault","bill_table":[{"bill_type","amount"}]}` —
//!   the unit's state (a fault blocks the terminal) and the bill table it reported.
//! * `GET /limit` → `{"session_id","max_amount"}` — the most cash the validator may take
//!   now, for the newest open session.
//! * `POST /bills` `{"event_id","amount","session_id","bill_type","stacked_at"}` → `200
//!   {"event_id","counted","session_id","unassigned"}` — a stacked bill, counted once.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use shared::error::ApiError;
use shared::extract::JsonBody;

use super::AgentState;
use super::cash::{self, Denomination, MAX_DETAIL_LEN, StackedBill};
use super::sync;

/// The terminal realm's login.
pub const TERMINAL_LOGIN: &str = "terminal";
/// Where a generated terminal password is kept.
pub const TERMINAL_PASSWORD_FILE: &str = "terminal-password";

/// kiosk-shell's report of the bill validator.
#[derive(Debug, Deserialize)]
struct ValidatorReport {
    /// `disabled`, `idle`, `fault`, … as the shell names it (for the log).
    #[serde(default)]
    state: Option<String>,
    /// Set while the unit is in a fault: why (for the operator).
    #[serde(default)]
    fault: Option<String>,
    /// The unit's bill table, once it has been read; absent leaves the stored one.
    #[serde(default)]
    bill_table: Option<Vec<Denomination>>,
}

async fn put_validator(
    State(state): State<AgentState>,
    JsonBody(report): JsonBody<ValidatorReport>,
) -> Result<impl IntoResponse, ApiError> {
    let too_long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.len() > MAX_DETAIL_LEN);
    if too_long(&report.fault) || too_long(&report.state) {
        return Err(ApiError::field(
            "fault",
            format!("at most {MAX_DETAIL_LEN} bytes"),
        ));
    }
    if let Some(table) = &report.bill_table {
        cash::save_table(&state.pool, table).await?;
    }
    if let Ok(mut fault) = state.validator_fault.lock() {
        if report.fault != *fault {
            tracing::warn!(fault = ?report.fault, unit_state = ?report.state, "bill validator state");
        }
        fault.clone_from(&report.fault);
    }
    Ok(Json(
        sync::status(&state).await.map_err(ApiError::internal)?,
    ))
}

async fn get_limit(State(state): State<AgentState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(cash::limit(&state).await?))
}

async fn post_bill(
    State(state): State<AgentState>,
    JsonBody(bill): JsonBody<StackedBill>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(cash::credit(&state, &bill).await?))
}

pub fn router(state: AgentState) -> axum::Router {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/api/terminal/v1/validator", put(put_validator))
        .route("/api/terminal/v1/limit", get(get_limit))
        .route("/api/terminal/v1/bills", post(post_bill))
        .with_state(state)
}
