//! Retention: rows that only record what happened — a provider's log of every gateway
//! request, e-mails already sent (attachments and all), kiosk sessions a customer walked
//! away from — are deleted once older than the configured age (`--retention-days`), so a
//! database does not grow without end. Rows that carry money (payments, transactions,
//! bills, the ledger) are never a [`Sweep`]: they are the books.
//!
//! Each role names its sweeps; [`spawn`] runs them an hour apart, in batches, so a big
//! first sweep never holds the database's write lock for long — and once an hour in all,
//! however many processes serve the database ([`super::periodic`]).

use std::time::Duration;

use super::clock;
use crate::server::db::{self, Db};

/// The age past which swept rows go, when `--retention-days` is not given.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(90 * 86_400);
/// Time between two sweeps (the first runs a minute after start).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3_600);
/// Rows deleted by one statement; a sweep repeats it until nothing is left.
pub const BATCH_ROWS: i64 = 5_000;

/// One kind of row that ages out.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    /// What the rows are, for the log (`gateway log rows`).
    pub what: &'static str,
    /// A `DELETE` of at most `$2` rows older than the cutoff timestamp `$1` (a stored
    /// `clock::stamp`), e.g. `DELETE FROM t WHERE id IN (SELECT id FROM t WHERE
    /// created_at < $1 LIMIT $2)`.
    pub delete: &'static str,
}

/// Deletes what is older than `max_age` now; returns how many rows of each sweep went.
pub async fn sweep_once(
    pool: &Db,
    sweeps: &[Sweep],
    max_age: Duration,
) -> Result<Vec<(&'static str, u64)>, sqlx::Error> {
    let cutoff = time::OffsetDateTime::now_utc()
        - time::Duration::try_from(max_age).unwrap_or(time::Duration::MAX);
    let cutoff = clock::stamp(cutoff);
    let mut deleted = Vec::with_capacity(sweeps.len());
    for sweep in sweeps {
        let mut total = 0;
        loop {
            let batch = db::query(sweep.delete)
                .bind(cutoff)
                .bind(BATCH_ROWS)
                .execute(pool)
                .await?
                .rows_affected();
            total += batch;
            if batch < u64::try_from(BATCH_ROWS).unwrap_or(u64::MAX) {
                break;
            }
        }
        deleted.push((sweep.what, total));
    }
    Ok(deleted)
}

/// Runs the sweeps every [`SWEEP_INTERVAL`] for as long as the process lives.
pub fn spawn(pool: Db, sweeps: &'static [Sweep], max_age: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        loop {
            match super::periodic::claim(&pool, "retention", SWEEP_INTERVAL).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!("retention: another process swept this hour");
                    tokio::time::sleep(SWEEP_INTERVAL).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "retention: could not claim the hour; sweeping anyway")
                }
            }
            match sweep_once(&pool, sweeps, max_age).await {
                Ok(deleted) => {
                    for (what, rows) in deleted.into_iter().filter(|(_, rows)| *rows > 0) {
                        tracing::info!(
                            what,
                            rows,
                            max_age_days = max_age.as_secs() / 86_400,
                            "retention: deleted old rows"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "retention sweep failed; trying again later"),
            }
            tokio::time::sleep(SWEEP_INTERVAL).await;
        }
    });
}
