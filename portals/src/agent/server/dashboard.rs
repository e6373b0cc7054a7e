//! The store's reads for the terminal's dashboard, one function per figure set. The agent
//! keeps instants as fixed-width UTC text, so "since" compares as text.

use shared::error::ApiError;
use sqlx::SqlitePool;
use time::OffsetDateTime;

use super::AgentState;
use crate::agent::figures::{Dashboard, OUTBOX_LIST_MAX, Queued, Validator};
use crate::server::clock::Stamp;

/// Everything the dashboard shows, read now.
pub async fn dashboard(state: &AgentState) -> Result<Dashboard, ApiError> {
    let now = OffsetDateTime::now_utc();
    let db = ApiError::internal;
    let pool = &state.pool;
    // The terminal's own day (`--time-zone`), not UTC's.
    let today = Stamp::at(crate::server::local_time::day_start(&state.zone, now)).to_string();
    let (payments_today, cash_today) = payments_since(pool, &today).await.map_err(db)?;
    let outbox = outbox(pool).await.map_err(db)?;
    let (unresolved_count, unresolved_cash) = unresolved(pool).await.map_err(db)?;
    Ok(Dashboard {
        status: super::sync::status(state).await.map_err(db)?,
        validator: validator(state).await?,
        cash_box: super::encashment::cash_box(pool).await?,
        payments_today,
        cash_today,
        outbox_count: super::store::outbox_pending(pool).await.map_err(db)?,
        outbox_oldest_age_secs: outbox
            .first()
            .and_then(|q| Stamp::parse(&q.created_at))
            .map(|at| (now - at.time()).whole_seconds().max(0)),
        outbox,
        unresolved_count,
        unresolved_cash,
    })
}

/// The validator as kiosk-shell last reported it.
pub async fn validator(state: &AgentState) -> Result<Validator, ApiError> {
    let fault = state.validator_fault.lock().ok().and_then(|f| f.clone());
    if let Some(fault) = fault {
        return Ok(Validator::Fault(fault));
    }
    let reported = !super::cash::table(&state.pool).await?.is_empty();
    Ok(if reported {
        Validator::Working
    } else {
        Validator::Unknown
    })
}

/// Payments taken at the kiosk since `since` (stored text), and their cash.
pub async fn payments_since(pool: &SqlitePool, since: &str) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(cash), 0) FROM payments WHERE created_at >= $1")
        .bind(since)
        .fetch_one(pool)
        .await
}

/// The oldest payments of the outbox.
pub async fn outbox(pool: &SqlitePool) -> Result<Vec<Queued>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, provider_name, account, amount, status, attempts, created_at, last_error
         FROM payments WHERE status IN ('queued', 'pending') ORDER BY created_at, id LIMIT $1",
    )
    .bind(OUTBOX_LIST_MAX)
    .fetch_all(pool)
    .await
}

/// Unresolved cash claims: how many and their cash.
pub async fn unresolved(pool: &SqlitePool) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(cash), 0) FROM cash_claims WHERE resolution IS NULL",
    )
    .fetch_one(pool)
    .await
}
