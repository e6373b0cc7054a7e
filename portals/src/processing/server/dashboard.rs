//! The store's reads for processing's dashboard: one function per figure set, each a few
//! portable statements (the same SQL on SQLite and PostgreSQL, instants bound as
//! [`Stamp`]s). Payments are counted by `created_at`, the moment processing took them:
//! that is when the staff saw the load, whatever day the agent accepted the cash.
//! "Today" and the chart's hours are the participant's (`--time-zone`): their UTC bounds
//! come from `server::local_time`.

use shared::money::Kopecks;
use shared::zone::Zone;
use time::{Duration, OffsetDateTime};

use crate::processing::figures::{
    AnswerKind, Bar, Dashboard, Health, LowDeposit, Pending, ProviderHealth, Turnover,
};
use crate::server::buckets::payments_per_bucket;
use crate::server::clock::{OptStamp, Stamp};
use crate::server::db::{self, Db};
use crate::server::local_time;
use crate::server::threshold::{self, Threshold};

/// Below this available deposit an agent is listed, unless the administrator set the
/// participant's `low_deposit_threshold` (server::threshold): by default 5 000 ₽, about a
/// busy terminal's day.
pub const LOW_DEPOSIT: Threshold = Threshold {
    key: "low_deposit_threshold",
    object: "low deposit threshold",
    default: Kopecks::new(500_000),
};
/// The most agents the low-deposit list shows (the lowest first).
pub const LOW_DEPOSIT_LIST_MAX: i64 = 20;
/// How far back a provider's last attempt is looked for: older than that, the provider
/// counts as unused (and the look stays on the `created_at` index).
pub const PROVIDER_LOOKBACK: Duration = Duration::days(7);
/// Bars of the turnover chart: one per hour of the last day.
pub const CHART_HOURS: i64 = 24;

/// Everything the dashboard shows, read now, with days and hours of `zone`.
pub async fn dashboard(pool: &Db, zone: &Zone) -> Result<Dashboard, sqlx::Error> {
    dashboard_at(pool, zone, OffsetDateTime::now_utc()).await
}

/// The dashboard as it reads at `now`.
pub async fn dashboard_at(
    pool: &Db,
    zone: &Zone,
    now: OffsetDateTime,
) -> Result<Dashboard, sqlx::Error> {
    let threshold = low_deposit_threshold(pool).await?;
    Ok(Dashboard {
        today: turnover_since(pool, Stamp::at(local_time::day_start(zone, now))).await?,
        hour: turnover_since(pool, Stamp::at(now - Duration::hours(1))).await?,
        pending: pending(pool, now).await?,
        low_deposit_threshold: threshold,
        low_deposits: low_deposits(pool, threshold).await?,
        providers: provider_health(pool, now).await?,
        ledger: super::ledger::verify(pool).await?,
        hours: turnover_by_hour(pool, zone, now).await?,
    })
}

/// The turnover since `$1`: read through `payments_by_time`, the payments of the period
/// only (tests/processing.rs checks the plan; the index on `status` it went by before
/// walked every completed payment ever made: 123 ms at a million payments, 0.3 ms now).
pub const TURNOVER_SINCE: &str = "SELECT CAST(COUNT(*) AS BIGINT) AS count,
        CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS amount,
        CAST(COALESCE(SUM(processing_fee), 0) AS BIGINT) AS fees
 FROM payments WHERE status = 'completed' AND created_at >= $1";

/// Completed payments taken since `since`.
pub async fn turnover_since(pool: &Db, since: Stamp) -> Result<Turnover, sqlx::Error> {
    db::query_as(TURNOVER_SINCE)
        .bind(since)
        .fetch_one(pool)
        .await
}

/// The payments waiting for their provider, and the oldest one's age.
pub async fn pending(pool: &Db, now: OffsetDateTime) -> Result<Pending, sqlx::Error> {
    let (count, amount): (i64, i64) = db::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(amount), 0) AS BIGINT)
         FROM payments WHERE status = 'pending'",
    )
    .fetch_one(pool)
    .await?;
    let oldest: Option<(i64, Stamp)> = db::query_as(
        "SELECT id, created_at FROM payments WHERE status = 'pending' ORDER BY created_at, id LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(Pending {
        count,
        amount,
        oldest_age_secs: oldest.map(|(_, at)| age_secs(now, at)),
        oldest_payment_id: oldest.map(|(id, _)| id),
    })
}

/// The threshold the administrator set, or the default (kopecks).
pub async fn low_deposit_threshold(pool: &Db) -> Result<i64, sqlx::Error> {
    Ok(threshold::read(pool, &LOW_DEPOSIT).await?.get())
}

/// Agents whose available deposit is below `threshold`, the lowest first.
pub async fn low_deposits(pool: &Db, threshold: i64) -> Result<Vec<LowDeposit>, sqlx::Error> {
    db::query_as(
        "SELECT g.id AS agent_id, g.name, a.balance - a.reserved AS available, g.status
         FROM agents g JOIN ledger_accounts a ON a.id = 'agent:' || g.id
         WHERE a.balance - a.reserved < $1
         ORDER BY a.balance - a.reserved, g.id LIMIT $2",
    )
    .bind(threshold)
    .bind(LOW_DEPOSIT_LIST_MAX)
    .fetch_all(pool)
    .await
}

/// A provider with its most recent attempted payment (within [`PROVIDER_LOOKBACK`]).
#[derive(sqlx::FromRow, crate::server::db::LiteRow)]
struct LastAttempt {
    id: i64,
    name: String,
    active: bool,
    last_status: Option<String>,
    last_answer: Option<String>,
    #[sqlx(try_from = "OptStamp")]
    last_at: Option<String>,
    pending: i64,
}

/// Every provider and how its last attempt went: failing ones first.
pub async fn provider_health(
    pool: &Db,
    now: OffsetDateTime,
) -> Result<Vec<ProviderHealth>, sqlx::Error> {
    // The same "last attempted payment" three times: portable, and each a probe of a
    // provider's few recent payments on the created_at index.
    let rows: Vec<LastAttempt> = db::query_as(
        "SELECT p.id, p.name, p.active,
            (SELECT q.status FROM payments q WHERE q.provider_id = p.id AND q.attempts > 0 AND q.created_at >= $1
             ORDER BY q.updated_at DESC, q.id DESC LIMIT 1) AS last_status,
            (SELECT q.last_answer FROM payments q WHERE q.provider_id = p.id AND q.attempts > 0 AND q.created_at >= $1
             ORDER BY q.updated_at DESC, q.id DESC LIMIT 1) AS last_answer,
            (SELECT q.updated_at FROM payments q WHERE q.provider_id = p.id AND q.attempts > 0 AND q.created_at >= $1
             ORDER BY q.updated_at DESC, q.id DESC LIMIT 1) AS last_at,
            (SELECT CAST(COUNT(*) AS BIGINT) FROM payments q WHERE q.provider_id = p.id AND q.status = 'pending') AS pending
         FROM providers p ORDER BY p.name, p.id",
    )
    .bind(Stamp::at(now - PROVIDER_LOOKBACK))
    .fetch_all(pool)
    .await?;
    let mut providers: Vec<ProviderHealth> = rows
        .into_iter()
        .map(|row| {
            let health = match (row.active, row.last_status.as_deref()) {
                (false, _) => Health::Off,
                (true, None) => Health::Unused,
                (true, Some("completed")) => Health::Healthy,
                (true, Some("pending")) => Health::Failing,
                (true, Some(_)) => Health::Refusing,
            };
            let answer = match health {
                Health::Failing | Health::Refusing => {
                    row.last_answer.as_deref().map(AnswerKind::of)
                }
                _ => None,
            };
            ProviderHealth {
                provider_id: row.id,
                name: row.name,
                health,
                answer,
                last_attempt_age_secs: row
                    .last_at
                    .as_deref()
                    .and_then(Stamp::parse)
                    .map(|at| age_secs(now, at)),
                pending: row.pending,
            }
        })
        .collect();
    providers.sort_by_key(|p| match p.health {
        Health::Failing => 0,
        Health::Refusing => 1,
        Health::Healthy => 2,
        Health::Unused => 3,
        Health::Off => 4,
    });
    Ok(providers)
}

/// Completed payments per local hour of `zone` over the last [`CHART_HOURS`] hours,
/// every hour present, the oldest first.
pub async fn turnover_by_hour(
    pool: &Db,
    zone: &Zone,
    now: OffsetDateTime,
) -> Result<Vec<Bar>, sqlx::Error> {
    let starts: Vec<Stamp> = local_time::hour_starts(zone, now, CHART_HOURS)
        .into_iter()
        .map(|start| Stamp::at(start.at))
        .collect();
    let tally = payments_per_bucket(pool, "status = 'completed'", &starts).await?;
    let newest = i64::try_from(tally.len()).unwrap_or(CHART_HOURS) - 1;
    Ok((0..)
        .zip(tally)
        .map(|(i, (count, amount))| Bar {
            ago: newest - i,
            count,
            amount,
        })
        .collect())
}

fn age_secs(now: OffsetDateTime, at: Stamp) -> i64 {
    (now - at.time()).whole_seconds().max(0)
}
