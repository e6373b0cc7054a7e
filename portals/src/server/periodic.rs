//! Periodic jobs run once per period across every process that serves one database:
//! behind a load balancer, N processing processes must not each sweep the same rows
//! every hour. A job's period is claimed by inserting `(job, period)`; the process whose
//! insert lands runs it, the others find the row and skip. The database decides, so this
//! holds on SQLite (several processes on one file) and on PostgreSQL alike.

use std::time::Duration;

use crate::server::clock;
use crate::server::db::{self, Db};

/// Claimed periods kept per job, for the operator to see when jobs ran.
const KEPT_PERIODS: i64 = 1_000;

/// The number of the period of length `every` that `at` falls in.
pub fn period_of(at: time::OffsetDateTime, every: Duration) -> i64 {
    let length = i64::try_from(every.as_secs()).unwrap_or(i64::MAX).max(1);
    at.unix_timestamp().div_euclid(length)
}

/// Whether this process runs `job` for the current period of length `every`.
pub async fn claim(pool: &Db, job: &str, every: Duration) -> Result<bool, sqlx::Error> {
    let now = time::OffsetDateTime::now_utc();
    let period = period_of(now, every);
    let claimed = db::query(
        "INSERT INTO periodic_runs (job, period, started_at) VALUES ($1, $2, $3)
         ON CONFLICT (job, period) DO NOTHING",
    )
    .bind(job)
    .bind(period)
    .bind(clock::stamp(now))
    .execute(pool)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        db::query("DELETE FROM periodic_runs WHERE job = $1 AND period < $2")
            .bind(job)
            .bind(period.saturating_sub(KEPT_PERIODS))
            .execute(pool)
            .await?;
    }
    Ok(claimed)
}
