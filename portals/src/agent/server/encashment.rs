//! The terminal's cash box and its collection (инкассация). The box holds every bill
//! kiosk-shell reported stacked since the last collection — the `bills` rows with no
//! `encashment_id` — counted per denomination, and held against the cash of the sessions
//! those bills went into (a paid session by its payment's `cash`): the difference (bills
//! in no session, a session whose bills span two collections) is shown, never hidden.
//!
//! Recording a collection is one transaction that starts with its guarded write: the new
//! collection must follow the one the operator counted against (`previous`), so a double
//! click or two operators record it once; the bills it takes are exactly those still in
//! the box at that moment, and the next collection starts from zero.

use serde::Deserialize;
use shared::error::ApiError;
use shared::money::Kopecks;
use sqlx::SqlitePool;

use crate::agent::model::{CashBox, DenominationCount, Encashment};
use crate::server::audit::{self, AuditKind, Change};
use crate::server::clock;
use crate::server::db::Exec;

/// The longest note a collection keeps.
pub const MAX_NOTE_CHARS: usize = 500;
/// The most collections one page of a listing returns (the API's default `limit`).
pub const LIST_LIMIT: i64 = 500;

fn db(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

/// The cash of the sessions whose bills belong to collection `$1` (NULL: the box now):
/// a paid session counts its payment's cash, an open or abandoned one its bills.
macro_rules! sessions_cash {
    () => {
        "COALESCE((SELECT SUM(COALESCE(p.cash,
            (SELECT SUM(b2.amount) FROM bills b2 WHERE b2.session_id = s.id)))
        FROM sessions s LEFT JOIN payments p ON p.session_id = s.id
        WHERE s.id IN (SELECT b.session_id FROM bills b WHERE b.encashment_id IS $1 AND b.session_id IS NOT NULL)), 0)"
    };
}

/// What the box holds now, since the last collection.
pub async fn cash_box(pool: &SqlitePool) -> Result<CashBox, ApiError> {
    let previous: Option<(i64, String)> =
        sqlx::query_as("SELECT id, collected_at FROM encashments ORDER BY id DESC LIMIT 1")
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT amount, COUNT(*), SUM(amount) FROM bills WHERE encashment_id IS NULL GROUP BY amount ORDER BY amount",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let (unassigned, sessions_cash): (i64, i64) = sqlx::query_as(concat!(
        "SELECT COALESCE((SELECT SUM(amount) FROM bills WHERE encashment_id IS NULL AND session_id IS NULL), 0), ",
        sessions_cash!()
    ))
    .bind(None::<i64>)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let mut expected = Kopecks::ZERO;
    let mut bill_count = 0;
    let denominations = rows
        .into_iter()
        .map(|(amount, count, sum)| {
            bill_count += count;
            expected = expected
                .checked_add(Kopecks::new(sum))
                .ok_or_else(|| ApiError::internal("the cash box's sum overflows"))?;
            Ok(DenominationCount {
                amount: Kopecks::new(amount),
                count,
                sum: Kopecks::new(sum),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let sessions_cash = Kopecks::new(sessions_cash);
    Ok(CashBox {
        previous: previous.as_ref().map(|(id, _)| *id),
        since: previous.map(|(_, at)| at),
        denominations,
        bill_count,
        expected,
        sessions_cash,
        unassigned_cash: Kopecks::new(unassigned),
        difference: expected
            .checked_sub(sessions_cash)
            .ok_or_else(|| ApiError::internal("the cash box's difference overflows"))?,
    })
}

/// `POST /api/admin/v1/encashments`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEncashment {
    /// The last collection the operator's count follows (`null` for the first one).
    pub previous: Option<i64>,
    /// What the operator counted in the cassette.
    pub counted: Kopecks,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EncashmentRow {
    id: i64,
    collected_by: String,
    collected_at: String,
    bill_count: i64,
    expected: i64,
    counted: i64,
    sessions_cash: i64,
    note: Option<String>,
}

impl From<EncashmentRow> for Encashment {
    fn from(r: EncashmentRow) -> Encashment {
        Encashment {
            encashment_id: r.id,
            collected_by: r.collected_by,
            collected_at: r.collected_at,
            bill_count: r.bill_count,
            expected: Kopecks::new(r.expected),
            counted: Kopecks::new(r.counted),
            // Both are bounded (sums of bounded bills, a counted sum checked below).
            discrepancy: Kopecks::new(r.counted.saturating_sub(r.expected)),
            sessions_cash: Kopecks::new(r.sessions_cash),
            note: r.note,
        }
    }
}

macro_rules! select_encashments {
    ($rest:literal) => {
        concat!(
            "SELECT id, collected_by, collected_at, bill_count, expected, counted, sessions_cash, note
             FROM encashments ",
            $rest
        )
    };
}

/// The largest counted sum taken: a cassette of a few thousand notes holds far less; the
/// bound keeps every difference within `i64`.
pub const MAX_COUNTED: Kopecks = Kopecks::new(100_000_000_000);

/// Records a collection by `operator`: takes every bill still in the box, with what they
/// sum to and what the operator counted (a different count is kept as the discrepancy).
pub async fn record(
    pool: &SqlitePool,
    request: &NewEncashment,
    operator: &str,
) -> Result<Encashment, ApiError> {
    if request.counted.is_negative() || request.counted > MAX_COUNTED {
        return Err(ApiError::field(
            "counted",
            format!("the sum counted in the cassette, 0 to {MAX_COUNTED} RUB"),
        ));
    }
    let note = request
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ApiError::field(
            "note",
            format!("at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    let mut tx = pool.begin().await.map_err(db)?;
    let inserted: Option<(i64,)> = sqlx::query_as(concat!(
        "INSERT INTO encashments (collected_by, collected_at, bill_count, expected, counted, sessions_cash, note)
         SELECT $2, $3,
                (SELECT COUNT(*) FROM bills WHERE encashment_id IS NULL),
                (SELECT COALESCE(SUM(amount), 0) FROM bills WHERE encashment_id IS NULL),
                $4, ",
        sessions_cash!(),
        ", $5
         WHERE (SELECT MAX(id) FROM encashments) IS $6
         RETURNING id"
    ))
    .bind(None::<i64>)
    .bind(operator)
    .bind(clock::now_text())
    .bind(request.counted.get())
    .bind(note)
    .bind(request.previous)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some((id,)) = inserted else {
        tx.rollback().await.map_err(db)?;
        return Err(ApiError::EncashmentConflict);
    };
    sqlx::query("UPDATE bills SET encashment_id = $1 WHERE encashment_id IS NULL")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let (bills, expected, counted): (i64, i64, i64) =
        sqlx::query_as("SELECT bill_count, expected, counted FROM encashments WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
    audit::record(
        Exec::SqliteConn(&mut tx),
        Change::new(
            operator,
            AuditKind::CashCollected,
            format!("encashment {id}"),
        )
        .before(&serde_json::json!({
            "bills": bills,
            "in_box": Kopecks::new(expected).to_string(),
        }))
        .after(&serde_json::json!({
            "bills": 0,
            "counted": Kopecks::new(counted).to_string(),
            "discrepancy": Kopecks::new(counted.saturating_sub(expected)).to_string(),
            "note": note,
        })),
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    let done = get(pool, id).await?;
    if done.discrepancy == Kopecks::ZERO {
        tracing::info!(encashment = id, operator, expected = %done.expected, bills = done.bill_count, "cash box collected");
    } else {
        tracing::warn!(encashment = id, operator, expected = %done.expected, counted = %done.counted,
            discrepancy = %done.discrepancy, "cash box collected with a discrepancy");
    }
    Ok(done)
}

pub async fn get(pool: &SqlitePool, id: i64) -> Result<Encashment, ApiError> {
    let row: Option<EncashmentRow> = sqlx::query_as(select_encashments!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(Encashment::from).ok_or_else(|| ApiError::NotFound {
        what: format!("encashment {id}"),
    })
}

/// Collections, newest first: `limit` of them older than the collection `before` (keyset
/// paging), and the id the next page starts before when older ones follow.
pub async fn list(
    pool: &SqlitePool,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<Encashment>, Option<i64>), ApiError> {
    // One more than a page: whether an older page exists, without counting them all.
    let mut rows: Vec<EncashmentRow> = sqlx::query_as(select_encashments!(
        "WHERE ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit + 1)
    .bind(before)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let list: Vec<Encashment> = rows.into_iter().map(Encashment::from).collect();
    let next = list.last().filter(|_| more).map(|e| e.encashment_id);
    Ok((list, next))
}

/// Where the page before (newer than) the one of collections older than `before` starts:
/// the id it is "before", or `None` when it is the newest page (as
/// `claims::newer_page_start`).
pub async fn newer_page_start(
    pool: &SqlitePool,
    before: i64,
    limit: i64,
) -> Result<Option<i64>, ApiError> {
    let start: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM encashments WHERE id >= $1 ORDER BY id LIMIT 1 OFFSET $2")
            .bind(before)
            .bind(limit)
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    Ok(start.map(|(id,)| id))
}

/// A bill a collection took, as its report lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CollectedBill {
    pub event_id: String,
    pub bill_type: Option<i64>,
    pub amount: i64,
    pub stacked_at: String,
    pub received_at: String,
    pub session_id: Option<i64>,
    pub unassigned: Option<String>,
}

pub async fn bills_of(pool: &SqlitePool, id: i64) -> Result<Vec<CollectedBill>, sqlx::Error> {
    sqlx::query_as(
        "SELECT event_id, bill_type, amount, stacked_at, received_at, session_id, unassigned FROM bills
         WHERE encashment_id = $1 ORDER BY received_at, event_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// A session whose bills a collection took.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CoveredSession {
    pub session_id: i64,
    pub provider_name: String,
    pub account: String,
    pub created_at: String,
    /// Its bills in this collection.
    pub bills_cash: i64,
    pub agent_txn_id: Option<String>,
    pub payment_cash: Option<i64>,
    pub payment_status: Option<String>,
    pub abandoned_at: Option<String>,
}

pub async fn sessions_of(pool: &SqlitePool, id: i64) -> Result<Vec<CoveredSession>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id AS session_id, s.provider_name, s.account, s.created_at,
                (SELECT SUM(b.amount) FROM bills b WHERE b.session_id = s.id AND b.encashment_id = $1) AS bills_cash,
                p.agent_txn_id, p.cash AS payment_cash, p.status AS payment_status, s.abandoned_at
         FROM sessions s LEFT JOIN payments p ON p.session_id = s.id
         WHERE s.id IN (SELECT b.session_id FROM bills b WHERE b.encashment_id = $1 AND b.session_id IS NOT NULL)
         ORDER BY s.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}
