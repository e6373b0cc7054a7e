//! The agent's tables.

use serde::{Deserialize, Serialize};
use shared::fee::FeeRule;
use shared::money::Kopecks;
use sqlx::SqlitePool;

use super::processing::Contract;
use crate::server::audit::{self, AuditKind, Change, Secret};
use crate::server::clock;
use crate::server::db::Exec;

pub async fn contract(pool: &SqlitePool) -> Result<Option<Contract>, sqlx::Error> {
    sqlx::query_as(
        "SELECT processing_url, contract_number, login, password FROM contract WHERE id = 1",
    )
    .fetch_optional(pool)
    .await
}

/// Where the agent reaches processing and as whom, as audit entries show it: the
/// password only as changed or not.
#[derive(Debug, Serialize)]
struct ContractAccess<'a> {
    processing_url: &'a str,
    contract_number: &'a str,
    login: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<Secret>,
}

fn access(c: &Contract, password: Option<Secret>) -> ContractAccess<'_> {
    ContractAccess {
        processing_url: &c.processing_url,
        contract_number: &c.contract_number,
        login: &c.login,
        password,
    }
}

/// Saves the contract with processing, and its audit entry naming `by` (the password
/// recorded only as changed), in one transaction.
pub async fn save_contract(
    pool: &SqlitePool,
    contract: &Contract,
    by: &str,
) -> Result<(), sqlx::Error> {
    // Read before the transaction, which starts with its write (SQLite takes the write
    // lock at once); the agent has one operator's portal, not concurrent writers of it.
    let before = self::contract(pool).await?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO contract (id, processing_url, contract_number, login, password, saved_at) VALUES (1, $1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET processing_url = $1, contract_number = $2, login = $3, password = $4, saved_at = $5",
    )
    .bind(&contract.processing_url)
    .bind(&contract.contract_number)
    .bind(&contract.login)
    .bind(&contract.password)
    .bind(clock::now_text())
    .execute(&mut *tx)
    .await?;
    // A new contract may mean another processing center: forget the old one's catalog.
    sqlx::query("UPDATE sync_state SET etag = NULL WHERE what = 'catalog'")
        .execute(&mut *tx)
        .await?;
    let change = match &before {
        None => Some(
            Change::new(by, AuditKind::ContractCreated, "processing contract")
                .after(&access(contract, Some(Secret::Issued))),
        ),
        Some(before) if before != contract => Some(
            Change::new(by, AuditKind::CredentialsChanged, "processing contract")
                .before(&access(before, None))
                .after(&access(
                    contract,
                    Some(Secret::changed(before.password != contract.password)),
                )),
        ),
        Some(_) => None,
    };
    if let Some(change) = change {
        audit::record(Exec::SqliteConn(&mut tx), change).await?;
    }
    tx.commit().await
}

/// A sync's last good answer and its last attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct SyncState {
    pub body: Option<String>,
    pub etag: Option<String>,
    pub fetched_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_error: Option<String>,
}

pub async fn sync_state(pool: &SqlitePool, what: &str) -> Result<SyncState, sqlx::Error> {
    Ok(sqlx::query_as("SELECT body, etag, fetched_at, last_attempt_at, last_error FROM sync_state WHERE what = $1")
        .bind(what)
        .fetch_optional(pool)
        .await?
        .unwrap_or_default())
}

pub async fn sync_succeeded(
    pool: &SqlitePool,
    what: &str,
    body: Option<&str>,
    etag: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = clock::now_text();
    sqlx::query(
        "UPDATE sync_state SET body = COALESCE($1, body), etag = COALESCE($2, etag), fetched_at = $3, last_attempt_at = $3,
                last_error = NULL WHERE what = $4",
    )
    .bind(body)
    .bind(etag)
    .bind(&now)
    .bind(what)
    .execute(pool)
    .await
    .map(|_| ())
}

pub async fn sync_failed(pool: &SqlitePool, what: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sync_state SET last_attempt_at = $1, last_error = $2 WHERE what = $3")
        .bind(clock::now_text())
        .bind(error)
        .bind(what)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn fee_rule(pool: &SqlitePool) -> Result<FeeRule, sqlx::Error> {
    let (percent_bp, fixed, min, max): (i64, i64, i64, Option<i64>) =
        sqlx::query_as("SELECT percent_bp, fixed, min, max FROM fee_rule WHERE id = 1")
            .fetch_one(pool)
            .await?;
    Ok(FeeRule {
        percent_bp: u32::try_from(percent_bp).unwrap_or(0),
        fixed: Kopecks::new(fixed),
        min: Kopecks::new(min),
        max: max.map(Kopecks::new),
    })
}

/// Sets the customer's fee rule with its audit entry naming `by` (none when it stays).
pub async fn set_fee_rule(pool: &SqlitePool, rule: &FeeRule, by: &str) -> Result<(), sqlx::Error> {
    let before = fee_rule(pool).await?;
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE fee_rule SET percent_bp = $1, fixed = $2, min = $3, max = $4 WHERE id = 1")
        .bind(i64::from(rule.percent_bp))
        .bind(rule.fixed.get())
        .bind(rule.min.get())
        .bind(rule.max.map(Kopecks::get))
        .execute(&mut *tx)
        .await?;
    if &before != rule {
        audit::record(
            Exec::SqliteConn(&mut tx),
            Change::new(by, AuditKind::FeeChanged, "customer fee")
                .before(&audit::Fee::from(&before))
                .after(&audit::Fee::from(rule)),
        )
        .await?;
    }
    tx.commit().await
}

/// A customer's session at the kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub provider_id: i64,
    pub provider_name: String,
    pub account: String,
    pub min_amount: i64,
    pub max_amount: i64,
    pub status: String,
    pub created_at: String,
    pub cash: i64,
    /// The successful check the session was opened on; none: it cannot be paid.
    pub check_id: Option<i64>,
    /// The fields after `account`, as a JSON object (`values::to_text`).
    pub extra: String,
}

pub async fn session(pool: &SqlitePool, id: i64) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, s.provider_id, s.provider_name, s.account, s.min_amount, s.max_amount,
                CASE WHEN s.abandoned_at IS NULL THEN s.status ELSE 'abandoned' END AS status, s.created_at,
                COALESCE((SELECT SUM(b.amount) FROM bills b WHERE b.session_id = s.id), 0) AS cash, s.check_id,
                s.extra
         FROM sessions s WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Records what the provider answered to a check of these values (the values as the
/// canonical text of `values::to_text`); a session opened on it may be paid.
pub async fn record_check(
    pool: &SqlitePool,
    provider_id: i64,
    account: &str,
    extra: &str,
    result: i64,
) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO checks (provider_id, account, extra, result, checked_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(provider_id)
    .bind(account)
    .bind(extra)
    .bind(result)
    .bind(clock::now_text())
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// The newest check of exactly these values that the provider answered with result 0,
/// made at or after `since`.
pub async fn successful_check(
    pool: &SqlitePool,
    provider_id: i64,
    account: &str,
    extra: &str,
    since: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM checks
         WHERE provider_id = $1 AND account = $2 AND extra = $3 AND result = 0 AND checked_at >= $4
         ORDER BY id DESC LIMIT 1",
    )
    .bind(provider_id)
    .bind(account)
    .bind(extra)
    .bind(since)
    .fetch_optional(pool)
    .await?;
    Ok(found.map(|(id,)| id))
}

/// Whether the session's own check vouches for what it would pay: the same provider,
/// account and other fields, answered with result 0. Held against the check row itself,
/// not the session's link alone, so that no later change of either can pay unchecked
/// values.
pub async fn session_vouched(pool: &SqlitePool, session_id: i64) -> Result<bool, sqlx::Error> {
    let (vouched,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM sessions s JOIN checks c ON c.id = s.check_id
                        WHERE s.id = $1 AND c.result = 0 AND c.provider_id = s.provider_id
                          AND c.account = s.account AND c.extra = s.extra)",
    )
    .bind(session_id)
    .fetch_one(pool)
    .await?;
    Ok(vouched)
}

/// A payment of the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: i64,
    pub session_id: i64,
    pub agent_txn_id: String,
    pub provider_id: i64,
    pub provider_name: String,
    pub account: String,
    pub cash: i64,
    pub agent_fee: i64,
    pub amount: i64,
    pub accepted_at: String,
    pub status: String,
    pub result: Option<i64>,
    pub message: Option<String>,
    pub processing_payment_id: Option<i64>,
    pub processing_fee: Option<i64>,
    pub prv_txn: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The fields after `account` it carries to processing, as a JSON object.
    pub extra: String,
}

macro_rules! select_payments {
    ($rest:literal) => {
        concat!(
            "SELECT id, session_id, agent_txn_id, provider_id, provider_name, account, cash, agent_fee, amount, accepted_at,
                    status, result, message, processing_payment_id, processing_fee, prv_txn, attempts, next_attempt_at,
                    last_error, created_at, updated_at, extra
             FROM payments ",
            $rest
        )
    };
}

pub async fn payment_of_session(
    pool: &SqlitePool,
    session_id: i64,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(select_payments!("WHERE session_id = $1"))
        .bind(session_id)
        .fetch_optional(pool)
        .await
}

/// The payment the terminal numbered `agent_txn_id`, for the operator's detail page.
pub async fn payment_by_txn(
    pool: &SqlitePool,
    agent_txn_id: &str,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(select_payments!("WHERE agent_txn_id = $1"))
        .bind(agent_txn_id)
        .fetch_optional(pool)
        .await
}

/// Payments newest first, of one status or all, `limit` of them older than `before` (an
/// id: keyset paging, as processing's payment list — as cheap deep down as at the top,
/// and a payment arriving meanwhile shifts nothing).
pub async fn payments(
    pool: &SqlitePool,
    status: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    sqlx::query_as(select_payments!(
        "WHERE ($1 IS NULL OR status = $1) AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $2"
    ))
    .bind(status)
    .bind(limit)
    .bind(before)
    .fetch_all(pool)
    .await
}

pub async fn due_payments(
    pool: &SqlitePool,
    now: &str,
    limit: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    sqlx::query_as(select_payments!(
        "WHERE status IN ('queued', 'pending') AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn outbox_pending(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM payments WHERE status IN ('queued', 'pending')")
            .fetch_one(pool)
            .await?;
    Ok(n)
}
