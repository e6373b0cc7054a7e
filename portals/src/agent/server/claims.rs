//! Unresolved cash (issue #14): cash the customer gave that did not become a credited
//! payment — a payment that ended `failed` or `rejected`, a session abandoned with cash in
//! it, a bill that could go into no session. Each gets a claim with a code the receipt
//! shows (`K-4821-73`), and the operator resolves it once: pay again (a new payment linked
//! to the claim, through the normal outbox), refund, or write off with a reason.
//!
//! "Once" is enforced by the database, not by the page: every resolution is one statement
//! (or one transaction) whose `UPDATE … WHERE resolution IS NULL` must change exactly one
//! row, so two operators or a double click can never move the cash twice.

use std::collections::BTreeMap;

use serde::Deserialize;
use shared::error::ApiError;
use shared::money::Kopecks;
use shared::wire::agent::{CheckRequest, Extra};
use sqlx::{SqliteConnection, SqlitePool};

use super::AgentState;
use super::store;
use crate::agent::model::{
    CashOrigin, HistoryEvent, HistoryLine, RepaidWith, Resolution, UnresolvedCash,
};
use crate::server::audit::{self, AuditKind, Change};
use crate::server::clock;
use crate::server::db::Exec;

/// How many fresh codes are tried when one is taken already.
const CODE_ATTEMPTS: usize = 8;
/// The longest write-off reason kept.
pub const MAX_REASON_CHARS: usize = 500;
/// The most claims one page of a listing returns (the API's default `limit`).
pub const LIST_LIMIT: i64 = 500;

fn db(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

/// What a claim stands for, by the one origin column it has.
enum OriginKey<'a> {
    Payment(i64),
    Session(i64),
    Bill(&'a str),
}

/// Inserts a claim for `key` unless it has one, or unless its origin does not qualify
/// (the `WHERE` of each statement says when cash is unresolved). Codes are six random
/// digits from SQLite's generator (seeded by the OS): short enough to read aloud, and a
/// taken one is simply drawn again.
async fn open(conn: &mut SqliteConnection, key: OriginKey<'_>) -> Result<bool, sqlx::Error> {
    let now = clock::now_text();
    for _ in 0..CODE_ATTEMPTS {
        let (code,): (String,) = sqlx::query_as(
            "SELECT printf('K-%04d-%02d', abs(random() % 10000), abs(random() % 100))",
        )
        .fetch_one(&mut *conn)
        .await?;
        let inserted = match key {
            OriginKey::Payment(id) => {
                sqlx::query(
                    "INSERT INTO cash_claims (code, payment_id, cash, opened_at)
                     SELECT $1, p.id, p.cash, $2 FROM payments p
                     WHERE p.id = $3 AND p.status IN ('failed', 'rejected') AND p.cash > 0
                       AND NOT EXISTS (SELECT 1 FROM cash_claims c WHERE c.payment_id = p.id)",
                )
                .bind(&code)
                .bind(&now)
                .bind(id)
                .execute(&mut *conn)
                .await
            }
            OriginKey::Session(id) => {
                sqlx::query(
                    "INSERT INTO cash_claims (code, session_id, cash, opened_at)
                     SELECT $1, s.id, (SELECT SUM(b.amount) FROM bills b WHERE b.session_id = s.id), $2
                     FROM sessions s
                     WHERE s.id = $3 AND s.abandoned_at IS NOT NULL
                       AND EXISTS (SELECT 1 FROM bills b WHERE b.session_id = s.id)
                       AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.session_id = s.id)
                       AND NOT EXISTS (SELECT 1 FROM cash_claims c WHERE c.session_id = s.id)",
                )
                .bind(&code)
                .bind(&now)
                .bind(id)
                .execute(&mut *conn)
                .await
            }
            OriginKey::Bill(event_id) => {
                sqlx::query(
                    "INSERT INTO cash_claims (code, bill_event_id, cash, opened_at)
                     SELECT $1, b.event_id, b.amount, $2 FROM bills b
                     WHERE b.event_id = $3 AND b.session_id IS NULL
                       AND NOT EXISTS (SELECT 1 FROM cash_claims c WHERE c.bill_event_id = b.event_id)",
                )
                .bind(&code)
                .bind(&now)
                .bind(event_id)
                .execute(&mut *conn)
                .await
            }
        };
        match inserted {
            Ok(done) => return Ok(done.rows_affected() == 1),
            // Only the code can collide: the origin is guarded by NOT EXISTS.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(sqlx::Error::Protocol(
        "no free claim code after several draws".into(),
    ))
}

/// A claim for a payment that ended `failed` or `rejected` (nothing otherwise). Called by
/// the outbox in the transaction that records processing's final answer.
pub async fn open_for_payment(
    conn: &mut SqliteConnection,
    payment_id: i64,
) -> Result<bool, sqlx::Error> {
    open(conn, OriginKey::Payment(payment_id)).await
}

/// A claim for a bill kept as unassigned cash (in the transaction that counts it).
pub async fn open_for_bill(
    conn: &mut SqliteConnection,
    event_id: &str,
) -> Result<bool, sqlx::Error> {
    open(conn, OriginKey::Bill(event_id)).await
}

/// A claim for a session the sweep found abandoned with cash in it.
pub async fn open_for_session(
    conn: &mut SqliteConnection,
    session_id: i64,
) -> Result<bool, sqlx::Error> {
    open(conn, OriginKey::Session(session_id)).await
}

/// Gives every unresolved cash without a claim its claim: payments refused before this
/// agent kept claims, bills kept unassigned before, and anything a crash interrupted
/// between the answer and its claim. Run at start, then with every sweep.
pub async fn backfill(pool: &SqlitePool) -> Result<usize, sqlx::Error> {
    let payments: Vec<(i64,)> = sqlx::query_as(
        "SELECT p.id FROM payments p WHERE p.status IN ('failed', 'rejected') AND p.cash > 0
           AND NOT EXISTS (SELECT 1 FROM cash_claims c WHERE c.payment_id = p.id)",
    )
    .fetch_all(pool)
    .await?;
    let bills: Vec<(String,)> = sqlx::query_as(
        "SELECT b.event_id FROM bills b WHERE b.session_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM cash_claims c WHERE c.bill_event_id = b.event_id)",
    )
    .fetch_all(pool)
    .await?;
    let mut opened = 0;
    let mut conn = pool.acquire().await?;
    for (id,) in payments {
        opened += usize::from(open(&mut conn, OriginKey::Payment(id)).await?);
    }
    for (event_id,) in bills {
        opened += usize::from(open(&mut conn, OriginKey::Bill(&event_id)).await?);
    }
    Ok(opened)
}

/// A claim as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    code: String,
    payment_id: Option<i64>,
    session_id: Option<i64>,
    bill_event_id: Option<String>,
    cash: i64,
    opened_at: String,
    resolution: Option<String>,
    resolved_by: Option<String>,
    resolved_at: Option<String>,
    reason: Option<String>,
    new_payment_id: Option<i64>,
}

macro_rules! select_claims {
    ($rest:literal) => {
        concat!(
            "SELECT id, code, payment_id, session_id, bill_event_id, cash, opened_at, resolution,
                    resolved_by, resolved_at, reason, new_payment_id FROM cash_claims ",
            $rest
        )
    };
}

impl ClaimRow {
    fn resolution(&self) -> Option<Resolution> {
        self.resolution.as_deref().and_then(Resolution::parse)
    }
}

async fn claim_by_code(pool: &SqlitePool, code: &str) -> Result<ClaimRow, ApiError> {
    sqlx::query_as(select_claims!("WHERE code = $1"))
        .bind(code)
        .fetch_optional(pool)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("unresolved cash {code}"),
        })
}

/// The claim code of a payment's cash, if it has one (for the receipt).
pub async fn code_of_payment(
    pool: &SqlitePool,
    payment_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT code FROM cash_claims WHERE payment_id = $1")
            .bind(payment_id)
            .fetch_optional(pool)
            .await?;
    Ok(found.map(|(code,)| code))
}

fn extra_of(json: &str) -> Extra {
    serde_json::from_str(json).unwrap_or_default()
}

/// The session behind a claim, as the history needs it.
#[derive(sqlx::FromRow)]
struct SessionFacts {
    provider_id: i64,
    provider_name: String,
    account: String,
    extra: String,
    abandoned_at: Option<String>,
}

/// A payment behind a claim (the refused one, or the new one).
#[derive(sqlx::FromRow)]
struct PaymentFacts {
    session_id: i64,
    agent_txn_id: String,
    provider_id: i64,
    provider_name: String,
    account: String,
    extra: String,
    cash: i64,
    agent_fee: i64,
    amount: i64,
    accepted_at: String,
    status: String,
    result: Option<i64>,
    message: Option<String>,
    updated_at: String,
}

async fn payment_facts(pool: &SqlitePool, id: i64) -> Result<Option<PaymentFacts>, sqlx::Error> {
    sqlx::query_as(
        "SELECT session_id, agent_txn_id, provider_id, provider_name, account, extra, cash, agent_fee, amount,
                accepted_at, status, result, message, updated_at FROM payments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

async fn session_facts(pool: &SqlitePool, id: i64) -> Result<Option<SessionFacts>, sqlx::Error> {
    sqlx::query_as(
        "SELECT provider_id, provider_name, account, extra, abandoned_at FROM sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The bills of a session, or the one bill, as history lines.
async fn bill_lines(
    pool: &SqlitePool,
    session_id: Option<i64>,
    event_id: Option<&str>,
) -> Result<Vec<HistoryLine>, sqlx::Error> {
    let rows: Vec<(String, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT event_id, amount, received_at, unassigned FROM bills
         WHERE ($1 IS NOT NULL AND session_id = $1) OR ($2 IS NOT NULL AND event_id = $2)
         ORDER BY received_at, event_id",
    )
    .bind(session_id)
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(event_id, amount, at, unassigned)| HistoryLine {
            at,
            event: HistoryEvent::BillStacked,
            detail: match unassigned {
                Some(why) => format!("{} RUB, {event_id}, {why}", Kopecks::new(amount)),
                None => format!("{} RUB, {event_id}", Kopecks::new(amount)),
            },
        })
        .collect())
}

/// A claim with everything the operator needs to decide: where the cash came from, for
/// whom, what happened to it, and what was done.
async fn view(pool: &SqlitePool, claim: ClaimRow) -> Result<UnresolvedCash, sqlx::Error> {
    let mut history = Vec::new();
    let mut cash = UnresolvedCash {
        claim_code: claim.code.clone(),
        origin: CashOrigin::UnassignedBill,
        cash: Kopecks::new(claim.cash),
        opened_at: claim.opened_at.clone(),
        provider_id: None,
        provider_name: None,
        account: None,
        extra: Extra::new(),
        session_id: claim.session_id,
        agent_txn_id: None,
        payment_status: None,
        result: None,
        message: None,
        bill_event_id: claim.bill_event_id.clone(),
        resolution: claim.resolution(),
        resolved_by: claim.resolved_by.clone(),
        resolved_at: claim.resolved_at.clone(),
        reason: claim.reason.clone(),
        new_payment: None,
        history: Vec::new(),
    };
    if let Some(payment) = match claim.payment_id {
        Some(id) => payment_facts(pool, id).await?,
        None => None,
    } {
        cash.origin = CashOrigin::Payment;
        cash.session_id = Some(payment.session_id);
        history.extend(bill_lines(pool, Some(payment.session_id), None).await?);
        history.push(HistoryLine {
            at: payment.accepted_at.clone(),
            event: HistoryEvent::PaymentAccepted,
            detail: format!(
                "{}: {} RUB, fee {} RUB, {} RUB to {}",
                payment.agent_txn_id,
                Kopecks::new(payment.cash),
                Kopecks::new(payment.agent_fee),
                Kopecks::new(payment.amount),
                payment.account
            ),
        });
        history.push(HistoryLine {
            at: payment.updated_at.clone(),
            event: HistoryEvent::PaymentRefused,
            detail: format!(
                "{}{}{}",
                payment.status,
                payment
                    .result
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                payment
                    .message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
        });
        cash.provider_id = Some(payment.provider_id);
        cash.provider_name = Some(payment.provider_name);
        cash.account = Some(payment.account);
        cash.extra = extra_of(&payment.extra);
        cash.agent_txn_id = Some(payment.agent_txn_id);
        cash.payment_status = Some(payment.status);
        cash.result = payment.result;
        cash.message = payment.message;
    } else if let Some(session_id) = claim.session_id {
        cash.origin = CashOrigin::AbandonedSession;
        history.extend(bill_lines(pool, Some(session_id), None).await?);
        if let Some(session) = session_facts(pool, session_id).await? {
            if let Some(at) = session.abandoned_at {
                history.push(HistoryLine {
                    at,
                    event: HistoryEvent::SessionAbandoned,
                    detail: format!("session {session_id}"),
                });
            }
            cash.provider_id = Some(session.provider_id);
            cash.provider_name = Some(session.provider_name);
            cash.account = Some(session.account);
            cash.extra = extra_of(&session.extra);
        }
    } else {
        history.extend(bill_lines(pool, None, claim.bill_event_id.as_deref()).await?);
    }
    history.push(HistoryLine {
        at: claim.opened_at.clone(),
        event: HistoryEvent::ClaimOpened,
        detail: claim.code.clone(),
    });
    if let Some(new_id) = claim.new_payment_id
        && let Some(new) = payment_facts(pool, new_id).await?
    {
        cash.new_payment = Some(RepaidWith {
            agent_txn_id: new.agent_txn_id,
            account: new.account,
            extra: extra_of(&new.extra),
            amount: Kopecks::new(new.amount),
            status: new.status,
        });
    }
    if let (Some(resolution), Some(at), Some(by)) =
        (claim.resolution(), &claim.resolved_at, &claim.resolved_by)
    {
        let (event, what) = match resolution {
            Resolution::PaidAgain => (
                HistoryEvent::PaidAgain,
                cash.new_payment
                    .as_ref()
                    .map(|p| format!("{} → {}", p.agent_txn_id, p.account))
                    .unwrap_or_default(),
            ),
            Resolution::Refunded => (HistoryEvent::Refunded, String::new()),
            Resolution::WrittenOff => (
                HistoryEvent::WrittenOff,
                claim.reason.clone().unwrap_or_default(),
            ),
        };
        history.push(HistoryLine {
            at: at.clone(),
            event,
            detail: if what.is_empty() {
                by.clone()
            } else {
                format!("{by}: {what}")
            },
        });
    }
    history.sort_by(|a, b| a.at.cmp(&b.at));
    cash.history = history;
    Ok(cash)
}

/// Which claims a listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimFilter {
    /// Not dealt with yet (the default).
    #[default]
    Open,
    Resolved,
    All,
}

impl ClaimFilter {
    /// The name in `state=`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimFilter::Open => "open",
            ClaimFilter::Resolved => "resolved",
            ClaimFilter::All => "all",
        }
    }
}

/// Claims, newest first: `limit` of them older than the claim id `before` (keyset
/// paging), and the id the next page starts before when older ones follow.
pub async fn list(
    pool: &SqlitePool,
    filter: ClaimFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<UnresolvedCash>, Option<i64>), ApiError> {
    let query = match filter {
        ClaimFilter::Open => select_claims!(
            "WHERE resolution IS NULL AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $1"
        ),
        ClaimFilter::Resolved => select_claims!(
            "WHERE resolution IS NOT NULL AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $1"
        ),
        ClaimFilter::All => {
            select_claims!("WHERE ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $1")
        }
    };
    // One more than a page: whether an older page exists, without counting them all.
    let mut rows: Vec<ClaimRow> = sqlx::query_as(query)
        .bind(limit + 1)
        .bind(before)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = rows.last().filter(|_| more).map(|row| row.id);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(view(pool, row).await.map_err(db)?);
    }
    Ok((out, next))
}

/// Where the page before (newer than) the one of claims older than `before` starts: the
/// claim id it is "before" (`limit` newer claims than those, and one more to start
/// before), or `None` when it is the newest page. Keyset paging backwards, so a page back
/// costs what a page on does.
pub async fn newer_page_start(
    pool: &SqlitePool,
    filter: ClaimFilter,
    before: i64,
    limit: i64,
) -> Result<Option<i64>, ApiError> {
    let query = match filter {
        ClaimFilter::Open => {
            "SELECT id FROM cash_claims WHERE resolution IS NULL AND id >= $1 ORDER BY id LIMIT 1 OFFSET $2"
        }
        ClaimFilter::Resolved => {
            "SELECT id FROM cash_claims WHERE resolution IS NOT NULL AND id >= $1 ORDER BY id LIMIT 1 OFFSET $2"
        }
        ClaimFilter::All => {
            "SELECT id FROM cash_claims WHERE id >= $1 ORDER BY id LIMIT 1 OFFSET $2"
        }
    };
    let start: Option<(i64,)> = sqlx::query_as(query)
        .bind(before)
        .bind(limit)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    Ok(start.map(|(id,)| id))
}

/// One claim by its code.
pub async fn get(pool: &SqlitePool, code: &str) -> Result<UnresolvedCash, ApiError> {
    let claim = claim_by_code(pool, code).await?;
    view(pool, claim).await.map_err(db)
}

/// After a guarded update changed nothing: the same action again is answered with the
/// claim as it stands (a repeat is harmless); another action is refused.
async fn settled(
    pool: &SqlitePool,
    code: &str,
    wanted: Resolution,
) -> Result<UnresolvedCash, ApiError> {
    let claim = claim_by_code(pool, code).await?;
    match claim.resolution() {
        Some(done) if done == wanted => view(pool, claim).await.map_err(db),
        Some(done) => Err(ApiError::ClaimResolved {
            resolution: done.as_str().replace('_', " "),
        }),
        None => Err(ApiError::internal(
            "a claim changed nothing and is still open",
        )),
    }
}

/// Marks the cash handed back to the customer, by `operator`, now.
pub async fn refund(
    pool: &SqlitePool,
    code: &str,
    operator: &str,
) -> Result<UnresolvedCash, ApiError> {
    resolve_plain(pool, code, operator, Resolution::Refunded, None).await
}

/// Writes the cash off with a reason.
pub async fn write_off(
    pool: &SqlitePool,
    code: &str,
    operator: &str,
    reason: &str,
) -> Result<UnresolvedCash, ApiError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::field(
            "reason",
            format!("why the cash is written off, 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    resolve_plain(pool, code, operator, Resolution::WrittenOff, Some(reason)).await
}

async fn resolve_plain(
    pool: &SqlitePool,
    code: &str,
    operator: &str,
    resolution: Resolution,
    reason: Option<&str>,
) -> Result<UnresolvedCash, ApiError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let changed = sqlx::query(
        "UPDATE cash_claims SET resolution = $1, resolved_by = $2, resolved_at = $3, reason = $4
         WHERE code = $5 AND resolution IS NULL",
    )
    .bind(resolution.as_str())
    .bind(operator)
    .bind(clock::now_text())
    .bind(reason)
    .bind(code)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected();
    if changed == 1 {
        record_resolution(&mut tx, code, resolution, operator, reason, None)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    if changed == 1 {
        tracing::info!(
            claim = code,
            operator,
            resolution = resolution.as_str(),
            reason,
            "unresolved cash resolved"
        );
    }
    settled(pool, code, resolution).await
}

/// A resolution's audit entry, in the transaction that resolves: the claim with its cash
/// before (open), and how it was resolved after.
async fn record_resolution(
    tx: &mut SqliteConnection,
    code: &str,
    resolution: Resolution,
    operator: &str,
    reason: Option<&str>,
    new_payment: Option<(i64, &str)>,
) -> Result<(), sqlx::Error> {
    let kind = match resolution {
        Resolution::Refunded => AuditKind::CashRefunded,
        Resolution::WrittenOff => AuditKind::CashWrittenOff,
        Resolution::PaidAgain => AuditKind::CashPaidAgain,
    };
    let (cash,): (i64,) = sqlx::query_as("SELECT cash FROM cash_claims WHERE code = $1")
        .bind(code)
        .fetch_one(&mut *tx)
        .await?;
    let cash = Kopecks::new(cash).to_string();
    let mut after = serde_json::json!({"cash": cash, "resolution": resolution.as_str()});
    if let Some(reason) = reason {
        after["reason"] = reason.into();
    }
    if let Some((payment_id, account)) = new_payment {
        after["payment_id"] = payment_id.into();
        after["account"] = account.into();
    }
    audit::record(
        Exec::SqliteConn(tx),
        Change::new(operator, kind, format!("unresolved cash {code}"))
            .before(&serde_json::json!({"cash": cash, "resolution": null}))
            .after(&after),
    )
    .await
}

/// The operator's pay-again: the account and fields to pay to, each defaulting to the
/// original's; `provider_id` is needed only for a bill that was in no session.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayAgain {
    #[serde(default)]
    pub provider_id: Option<i64>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub extra: Option<Extra>,
}

/// What the refused payment (or the session) said, as defaults for a pay-again.
struct Original {
    provider_id: Option<i64>,
    account: Option<String>,
    extra: Extra,
    /// The split the customer was shown (a refused payment's), kept as it was.
    split: Option<(Kopecks, Kopecks)>,
}

async fn original(pool: &SqlitePool, claim: &ClaimRow) -> Result<Original, sqlx::Error> {
    if let Some(id) = claim.payment_id
        && let Some(p) = payment_facts(pool, id).await?
    {
        return Ok(Original {
            provider_id: Some(p.provider_id),
            account: Some(p.account),
            extra: extra_of(&p.extra),
            split: Some((Kopecks::new(p.agent_fee), Kopecks::new(p.amount))),
        });
    }
    if let Some(id) = claim.session_id
        && let Some(s) = session_facts(pool, id).await?
    {
        return Ok(Original {
            provider_id: Some(s.provider_id),
            account: Some(s.account),
            extra: extra_of(&s.extra),
            split: None,
        });
    }
    Ok(Original {
        provider_id: None,
        account: None,
        extra: Extra::new(),
        split: None,
    })
}

/// Pays the claim's cash again — to the same or a corrected account and fields — as a new
/// payment through the outbox, after a successful check with processing. The new payment,
/// its (operator's, bill-less) session and the claim's resolution are written in one
/// transaction whose last statement is the guard; a repeat answers the same payment.
pub async fn pay_again(
    state: &AgentState,
    code: &str,
    request: PayAgain,
    operator: &str,
) -> Result<UnresolvedCash, ApiError> {
    let claim = claim_by_code(&state.pool, code).await?;
    if claim.resolution.is_some() {
        return settled(&state.pool, code, Resolution::PaidAgain).await;
    }
    let original = original(&state.pool, &claim).await.map_err(db)?;
    let provider_id = request
        .provider_id
        .or(original.provider_id)
        .ok_or_else(|| ApiError::field("provider_id", "which provider to pay this cash to"))?;
    let account = request
        .account
        .or(original.account)
        .ok_or_else(|| ApiError::field("account", "required"))?;
    let extra = request.extra.unwrap_or(original.extra);

    let provider = super::kiosk::provider(state, provider_id, &account, &extra).await?;

    let cash = Kopecks::new(claim.cash);
    let (agent_fee, amount) = match original.split {
        Some(split) => split,
        None => super::kiosk::split(&store::fee_rule(&state.pool).await.map_err(db)?, cash)?,
    };
    if amount < provider.min_amount || cash > provider.max_amount || !amount.is_positive() {
        return Err(ApiError::field(
            "cash",
            format!(
                "{amount} RUB is outside this provider's limits ({} to {} RUB)",
                provider.min_amount, provider.max_amount
            ),
        ));
    }

    // The same rule as the kiosk's: no payment without the provider's yes to this account.
    let answer = super::kiosk::check(
        state,
        &CheckRequest {
            provider_id,
            account: account.clone(),
            extra: extra.clone(),
        },
    )
    .await?;
    if answer.result != 0 {
        return Err(ApiError::Validation {
            fields: BTreeMap::from([(
                "account".to_owned(),
                format!(
                    "the provider answered {}: {}",
                    answer.result, answer.message
                ),
            )]),
        });
    }
    let check_id: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM checks WHERE provider_id = $1 AND account = $2 AND result = 0 ORDER BY id DESC LIMIT 1",
    )
    .bind(provider_id)
    .bind(&account)
    .fetch_optional(&state.pool)
    .await
    .map_err(db)?;

    let extra_json = serde_json::to_string(&extra).map_err(ApiError::internal)?;
    let now = clock::now_text();
    let mut tx = state.pool.begin().await.map_err(db)?;
    // The operator's session: no bills (the cash is the claim's, counted once already).
    let (session_id,): (i64,) = sqlx::query_as(
        "INSERT INTO sessions (provider_id, provider_name, account, min_amount, max_amount, status, created_at,
                               closed_at, check_id, extra)
         VALUES ($1, $2, $3, $4, $5, 'paid', $6, $6, $7, $8) RETURNING id",
    )
    .bind(provider.provider_id)
    .bind(&provider.name)
    .bind(&account)
    .bind(provider.min_amount.get())
    .bind(provider.max_amount.get())
    .bind(&now)
    .bind(check_id.map(|(id,)| id))
    .bind(&extra_json)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let agent_txn_id = format!("{session_id}-{}", shared::auth::generate_password());
    let (payment_id,): (i64,) = sqlx::query_as(
        "INSERT INTO payments (session_id, agent_txn_id, provider_id, provider_name, account, extra, cash, agent_fee,
                               amount, accepted_at, status, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $10, $10, $10) RETURNING id",
    )
    .bind(session_id)
    .bind(&agent_txn_id)
    .bind(provider.provider_id)
    .bind(&provider.name)
    .bind(&account)
    .bind(&extra_json)
    .bind(cash.get())
    .bind(agent_fee.get())
    .bind(amount.get())
    .bind(&now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let claimed = sqlx::query(
        "UPDATE cash_claims SET resolution = 'paid_again', resolved_by = $1, resolved_at = $2, new_payment_id = $3
         WHERE id = $4 AND resolution IS NULL",
    )
    .bind(operator)
    .bind(&now)
    .bind(payment_id)
    .bind(claim.id)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected()
        == 1;
    if !claimed {
        // Someone resolved it meanwhile: nothing of this attempt stays.
        tx.rollback().await.map_err(db)?;
        return settled(&state.pool, code, Resolution::PaidAgain).await;
    }
    record_resolution(
        &mut tx,
        code,
        Resolution::PaidAgain,
        operator,
        None,
        Some((payment_id, &account)),
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(claim = code, operator, agent_txn_id, %cash, %amount, account, "unresolved cash paid again");
    state.outbox_wake.notify_one();
    get(&state.pool, code).await
}
