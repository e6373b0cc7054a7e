//! The figures of the agent's home page (the terminal's dashboard), as the server reads
//! them and the page shows them (both builds). The reads are in `server::dashboard`.

use serde::{Deserialize, Serialize};

use crate::agent::model::{CashBox, Status};

/// What kiosk-shell last said about the bill validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Validator {
    /// Its bill table was reported and no fault since.
    Working,
    /// In a fault, with kiosk-shell's words for it.
    Fault(String),
    /// kiosk-shell never reported the unit (no bill table).
    Unknown,
}

/// A payment in the outbox: taken at the kiosk, not yet settled by processing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Queued {
    pub id: i64,
    pub provider_name: String,
    pub account: String,
    pub amount: i64,
    /// `queued` or `pending`.
    pub status: String,
    pub attempts: i64,
    pub created_at: String,
    pub last_error: Option<String>,
}

/// Everything the terminal's dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Open or blocked, why, the deposit and the sync state.
    pub status: Status,
    pub validator: Validator,
    pub cash_box: CashBox,
    /// Payments taken since midnight UTC, and their cash.
    pub payments_today: i64,
    pub cash_today: i64,
    /// The outbox, the oldest first (at most [`OUTBOX_LIST_MAX`]).
    pub outbox: Vec<Queued>,
    pub outbox_count: i64,
    pub outbox_oldest_age_secs: Option<i64>,
    /// Claims not yet resolved, and their cash.
    pub unresolved_count: i64,
    pub unresolved_cash: i64,
}

/// How many queued payments the page lists.
pub const OUTBOX_LIST_MAX: i64 = 10;
