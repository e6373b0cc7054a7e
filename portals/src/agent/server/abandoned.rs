//! Sessions whose page went away with cash in them (a reload, a closed browser, a power
//! cut): never left `open` silently. The kiosk page pays an idle session itself after
//! `--kiosk-idle-s` ([`crate::agent::model::KioskTiming`], at most 10 minutes); a
//! session still open with cash long after that has no page left to pay it. The sweep — at start and every minute — closes such a
//! session for the kiosk (no more bills, no pay) and lists its cash as unresolved, with a
//! claim code, for the operator to pay again or refund.

use std::time::Duration;

use sqlx::SqlitePool;
use time::OffsetDateTime;

use super::AgentState;
use super::claims;
use crate::server::clock;

/// How long a session with cash may go without a new bill (or, with none since it was
/// opened, since it was opened) before it counts as abandoned: ten times the kiosk's idle
/// timeout, so a customer still at the terminal is never swept.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(15 * 60);
/// How often the sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Marks abandoned sessions and gives each a claim, in one transaction that starts with
/// its write (so a bill arriving at the same moment queues behind it and then finds the
/// session closed, and goes to unassigned cash). Returns the sessions swept.
pub async fn sweep(pool: &SqlitePool, now: OffsetDateTime) -> Result<Vec<i64>, sqlx::Error> {
    let stamp = clock::stamp_text(now);
    let cutoff = clock::stamp_text(now - ABANDONED_AFTER);
    let mut tx = pool.begin().await?;
    let swept: Vec<(i64,)> = sqlx::query_as(
        "UPDATE sessions SET abandoned_at = $1
         WHERE status = 'open' AND abandoned_at IS NULL
           AND EXISTS (SELECT 1 FROM bills b WHERE b.session_id = sessions.id)
           AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.session_id = sessions.id)
           AND max(created_at, (SELECT MAX(b.received_at) FROM bills b WHERE b.session_id = sessions.id)) < $2
         RETURNING id",
    )
    .bind(&stamp)
    .bind(&cutoff)
    .fetch_all(&mut *tx)
    .await?;
    for (id,) in &swept {
        claims::open_for_session(&mut tx, *id).await?;
    }
    tx.commit().await?;
    for (id,) in &swept {
        tracing::warn!(
            session = id,
            "a session with cash was abandoned; its cash is listed as unresolved"
        );
    }
    Ok(swept.into_iter().map(|(id,)| id).collect())
}

/// One round: abandoned sessions, then any unresolved cash still without a claim.
pub async fn sweep_once(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sweep(pool, OffsetDateTime::now_utc()).await?;
    let opened = claims::backfill(pool).await?;
    if opened > 0 {
        tracing::warn!(opened, "unresolved cash without a claim found and listed");
    }
    Ok(())
}

/// Runs at start and then every [`SWEEP_EVERY`] until the database closes.
pub async fn run(state: AgentState) {
    while !state.pool.is_closed() {
        if let Err(e) = sweep_once(&state.pool).await {
            tracing::error!(error = %e, "sweep of abandoned sessions failed; next round retries");
        }
        tokio::time::sleep(SWEEP_EVERY).await;
    }
}
