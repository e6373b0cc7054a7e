//! The store's reads for the provider's dashboard: one function per figure set, portable
//! SQL for SQLite and PostgreSQL. Payments count by `created_at`, when they were credited.
//! "Today" and the chart's days are the participant's (`--time-zone`): their UTC bounds
//! come from `server::local_time`.

use shared::money::Kopecks;
use shared::zone::Zone;
use time::OffsetDateTime;

use crate::provider::figures::{ContractLine, Dashboard, DayBar, LowBalance};
use crate::server::buckets::payments_per_bucket;
use crate::server::clock::{OptStamp, Stamp};
use crate::server::db::{self, Db};
use crate::server::local_time;
use crate::server::threshold::{self, Threshold};

/// Below this balance an active subscriber is listed, unless the administrator set the
/// participant's `low_balance_threshold` (server::threshold): by default 100 ₽, a few
/// days of calls.
pub const LOW_BALANCE: Threshold = Threshold {
    key: "low_balance_threshold",
    object: "low balance threshold",
    default: Kopecks::new(10_000),
};
/// How many of the lowest balances the page lists.
pub const LOW_BALANCE_LIST_MAX: i64 = 8;
/// Days of the payments chart.
pub const CHART_DAYS: i64 = 14;

/// Everything the dashboard shows, read now, with days of `zone`.
pub async fn dashboard(pool: &Db, zone: &Zone) -> Result<Dashboard, sqlx::Error> {
    dashboard_at(pool, zone, OffsetDateTime::now_utc()).await
}

/// The dashboard as it reads at `now`.
pub async fn dashboard_at(
    pool: &Db,
    zone: &Zone,
    now: OffsetDateTime,
) -> Result<Dashboard, sqlx::Error> {
    let today = Stamp::at(local_time::day_start(zone, now));
    let (payments_today, amount_today) = payments_since(pool, today).await?;
    let threshold = low_balance_threshold(pool).await?;
    let (active_subscribers, low_balance_count) = subscriber_counts(pool, threshold).await?;
    Ok(Dashboard {
        payments_today,
        amount_today,
        active_subscribers,
        low_balance_threshold: threshold,
        low_balance_count,
        low_balances: low_balances(pool, threshold).await?,
        contracts: contract_lines(pool, today, now).await?,
        days: payments_by_day(pool, zone, now).await?,
    })
}

/// Payments credited since `since`: how many and their sum.
pub async fn payments_since(pool: &Db, since: Stamp) -> Result<(i64, i64), sqlx::Error> {
    db::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(amount), 0) AS BIGINT)
         FROM payments WHERE created_at >= $1",
    )
    .bind(since)
    .fetch_one(pool)
    .await
}

/// The threshold the administrator set, or the default (kopecks).
pub async fn low_balance_threshold(pool: &Db) -> Result<i64, sqlx::Error> {
    Ok(threshold::read(pool, &LOW_BALANCE).await?.get())
}

/// Active subscribers, and how many of them are below `threshold`.
pub async fn subscriber_counts(pool: &Db, threshold: i64) -> Result<(i64, i64), sqlx::Error> {
    db::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN balance < $1 THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM subscribers WHERE status = 'active'",
    )
    .bind(threshold)
    .fetch_one(pool)
    .await
}

/// The lowest balances below `threshold`, the lowest first.
pub async fn low_balances(pool: &Db, threshold: i64) -> Result<Vec<LowBalance>, sqlx::Error> {
    db::query_as(
        "SELECT id AS subscriber_id, account, full_name, balance FROM subscribers
         WHERE status = 'active' AND balance < $1 ORDER BY balance, id LIMIT $2",
    )
    .bind(threshold)
    .bind(LOW_BALANCE_LIST_MAX)
    .fetch_all(pool)
    .await
}

#[derive(sqlx::FromRow, crate::server::db::LiteRow)]
struct ContractRow {
    id: i64,
    processing_name: String,
    protocol: String,
    status: String,
    payments_today: i64,
    amount_today: i64,
    #[sqlx(try_from = "OptStamp")]
    last_at: Option<String>,
}

/// Every processing contract with today's payments through it and its last payment.
pub async fn contract_lines(
    pool: &Db,
    today: Stamp,
    now: OffsetDateTime,
) -> Result<Vec<ContractLine>, sqlx::Error> {
    let rows: Vec<ContractRow> = db::query_as(
        "SELECT c.id, c.processing_name, c.protocol, c.status,
            (SELECT CAST(COUNT(*) AS BIGINT) FROM payments p WHERE p.contract_id = c.id AND p.created_at >= $1) AS payments_today,
            (SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM payments p WHERE p.contract_id = c.id AND p.created_at >= $1) AS amount_today,
            (SELECT p.created_at FROM payments p WHERE p.contract_id = c.id ORDER BY p.id DESC LIMIT 1) AS last_at
         FROM processing_contracts c
         ORDER BY CASE c.status WHEN 'active' THEN 0 WHEN 'suspended' THEN 1 ELSE 2 END, c.id",
    )
    .bind(today)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ContractLine {
            contract_id: row.id,
            processing_name: row.processing_name,
            protocol: row.protocol,
            status: row.status,
            payments_today: row.payments_today,
            amount_today: row.amount_today,
            last_payment_age_secs: row
                .last_at
                .as_deref()
                .and_then(Stamp::parse)
                .map(|at| (now - at.time()).whole_seconds().max(0)),
        })
        .collect())
}

/// Payments per local day of `zone` over the last [`CHART_DAYS`] days, every day
/// present, the oldest first.
pub async fn payments_by_day(
    pool: &Db,
    zone: &Zone,
    now: OffsetDateTime,
) -> Result<Vec<DayBar>, sqlx::Error> {
    let days = local_time::day_starts(zone, now, CHART_DAYS);
    let starts: Vec<Stamp> = days.iter().map(|day| Stamp::at(day.at)).collect();
    let tally = payments_per_bucket(pool, "1 = 1", &starts).await?;
    let newest = i64::try_from(days.len()).unwrap_or(CHART_DAYS) - 1;
    Ok((0..)
        .zip(days.iter().zip(tally))
        .map(|(i, (day, (count, amount)))| DayBar {
            ago: newest - i,
            day: day.local_date.to_string(),
            count,
            amount,
        })
        .collect())
}
