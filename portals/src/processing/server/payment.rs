//! The payment pipeline (DESIGN.md "The payment"), one named step each:
//!
//! 1. [`validate`] — the body makes sense; otherwise `422` and nothing is stored.
//! 2. [`claim_and_reserve`] — one transaction: claim the agent's idempotency key
//!    (`agent_txn_id`, with a hash of the body) and reserve `amount + processing_fee` on the
//!    agent's deposit. A repeat returns the stored payment; the same key with another body
//!    is a conflict (`409`, result 215); funds that do not cover it → `rejected`, 220.
//! 3. [`attempt`] — `pay` to the provider with the payment id as `txn_id`.
//! 4. Settle by the answer: 0 → [`complete`] (post the ledger entry, release the
//!    reservation); a final code → [`fail`] (void the reservation); anything else → stays
//!    `pending` with the next attempt scheduled, for the retrier.
//!
//! Completing and failing are conditional on the payment still being `pending`, so however
//! many attempts race (the first request, the retrier, a restart), a payment is settled once.

use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use shared::error::ApiError;
use shared::money::Kopecks;
use shared::wire::agent::PaymentRequest;
use shared::wire::osmp::ResultCode;

pub use crate::processing::model::PaymentRow;

use super::ProcessingState;
use super::connectors::{self, ProviderAnswer};
use super::ledger::{self, agent_account, provider_account};
use super::store::payment_detail::{AttemptRecord, record_attempt};
use super::store::{self, AgentRow, ProviderRow};
use crate::server::clock::{self, Stamp};
use crate::server::db::{self, Backend, Db, Tx};

/// Longest `agent_txn_id` accepted.
pub const MAX_AGENT_TXN_ID_LEN: usize = 64;

/// The columns of a [`PaymentRow`], for SELECT and RETURNING alike.
macro_rules! payment_columns {
    () => {
        "id, agent_id, agent_txn_id, request_hash, provider_id, account, cash, agent_fee, amount, processing_fee,
         status, result, message, prv_txn, attempts, next_attempt_at, last_answer, accepted_at, created_at, updated_at,
         extra"
    };
}

macro_rules! select_payments {
    ($rest:literal) => {
        concat!("SELECT ", payment_columns!(), " FROM payments ", $rest)
    };
}

pub async fn payment(pool: &Db, id: i64) -> Result<Option<PaymentRow>, sqlx::Error> {
    db::query_as(select_payments!("WHERE id = $1"))
        .bind(id)
        .lookup()
        .fetch_optional(pool)
        .await
}

/// [`payment`] inside the caller's transaction (the payment detail's snapshot).
pub async fn payment_in(tx: &mut Tx, id: i64) -> Result<Option<PaymentRow>, sqlx::Error> {
    db::query_as(select_payments!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(tx)
        .await
}

pub async fn payment_of_agent(
    pool: &Db,
    agent_id: i64,
    agent_txn_id: &str,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    db::query_as(select_payments!(
        "WHERE agent_id = $1 AND agent_txn_id = $2"
    ))
    .bind(agent_id)
    .bind(agent_txn_id)
    .lookup()
    .fetch_optional(pool)
    .await
}

/// Claims up to `limit` pending payments whose next attempt is due at `now`, one attempt
/// each: the same statement moves their `next_attempt_at` to `lease_until`, so no other
/// retrier — in this process or in another on the same database — takes them while the
/// attempt runs. The attempt's outcome ends the lease (settled, or the next attempt
/// scheduled); an attempt that died with its process leaves the lease to run out, and the
/// payment is due again for whoever looks next. That is the only way a payment is taken
/// over, so a lease must outlast the longest attempt (the provider timeout).
pub async fn claim_due(
    pool: &Db,
    now: &Stamp,
    lease_until: &Stamp,
    limit: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    // The outer condition repeats the inner one: whoever updates a row second finds it
    // leased already and leaves it. On PostgreSQL the due rows are picked once, in a
    // materialized CTE (a subquery in the WHERE may be run again per row and pick more
    // than the limit), skipping rows another process is claiming this instant, so
    // concurrent retriers take different payments instead of queueing on the same ones.
    let sql = match pool.backend() {
        Backend::Sqlite => concat!(
            "UPDATE payments SET next_attempt_at = $2
              WHERE id IN (SELECT id FROM payments WHERE status = 'pending' AND next_attempt_at <= $1
                            ORDER BY next_attempt_at LIMIT $3)
                AND status = 'pending' AND next_attempt_at <= $1
             RETURNING ",
            payment_columns!()
        ),
        Backend::Postgres => concat!(
            "WITH due AS MATERIALIZED (
                 SELECT id FROM payments WHERE status = 'pending' AND next_attempt_at <= $1
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
             UPDATE payments SET next_attempt_at = $2
              WHERE id IN (SELECT id FROM due) AND status = 'pending' AND next_attempt_at <= $1
             RETURNING ",
            payment_columns!()
        ),
    };
    db::query_as(sql)
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// The end of a lease taken now for one attempt: `lease` from now.
pub fn lease_until(lease: std::time::Duration) -> Stamp {
    clock::stamp(time::OffsetDateTime::now_utc() + lease)
}

/// Filters of the operator's payment list, and where its page starts.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentFilter {
    pub agent_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Keyset paging: only payments with a smaller id (older) — the last id of the page
    /// before. A page costs the same however deep it is, and a payment arriving meanwhile
    /// shifts nothing.
    pub before: Option<i64>,
    /// Rows per page (the operator API caps it).
    pub limit: Option<i64>,
}

pub async fn payments(
    pool: &Db,
    filter: &PaymentFilter,
    bounds: (Stamp, Stamp),
    limit: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    db::query_as(select_payments!(
        "WHERE ($1 IS NULL OR agent_id = $1) AND ($2 IS NULL OR provider_id = $2) AND ($3 IS NULL OR status = $3)
           AND created_at >= $4 AND created_at < $5 AND ($6 IS NULL OR id < $6)
         ORDER BY id DESC LIMIT $7"
    ))
    .bind(filter.agent_id)
    .bind(filter.provider_id)
    .bind(filter.status.as_deref().filter(|s| !s.is_empty()))
    .bind(bounds.0)
    .bind(bounds.1)
    .bind(filter.before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The export's first line: the columns of [`export_line`].
pub fn export_header() -> String {
    crate::server::csv::line(&[
        "created_at",
        "id",
        "agent_id",
        "agent_txn_id",
        "provider_id",
        "account",
        "amount",
        "processing_fee",
        "status",
        "result",
        "attempts",
        "last_answer",
    ])
}

/// One payment as a CSV line: times as stored (UTC), sums in roubles with a dot, as the
/// registry has them.
pub fn export_line(p: &PaymentRow) -> String {
    crate::server::csv::line(&[
        p.created_at.clone(),
        p.id.to_string(),
        p.agent_id.to_string(),
        p.agent_txn_id.clone(),
        p.provider_id.to_string(),
        p.account.clone(),
        Kopecks::new(p.amount).to_string(),
        Kopecks::new(p.processing_fee).to_string(),
        p.status.clone(),
        p.result.map(|r| r.to_string()).unwrap_or_default(),
        p.attempts.to_string(),
        p.last_answer.clone().unwrap_or_default(),
    ])
}

/// A payment request that passed validation.
pub struct Validated {
    pub request: PaymentRequest,
    pub provider: ProviderRow,
    pub accepted_at: time::OffsetDateTime,
    pub processing_fee: Kopecks,
    pub request_hash: String,
}

/// How old a payment's `accepted_at` may be by default (`--accepted-at-age-max-days`): a
/// terminal may hold payments while it is offline (store and forward), not for years.
pub const ACCEPTED_AT_AGE_MAX: time::Duration = time::Duration::days(366);
/// How far ahead of processing's clock `accepted_at` may be: a terminal's clock drifts, a
/// date a day ahead is not drift.
pub const ACCEPTED_AT_AHEAD_MAX: time::Duration = time::Duration::hours(24);

/// Whether `accepted_at` lies in the window a real terminal's clock can produce: at most
/// `age_max` old, at most [`ACCEPTED_AT_AHEAD_MAX`] ahead.
pub fn plausible_acceptance(
    accepted_at: time::OffsetDateTime,
    now: time::OffsetDateTime,
    age_max: time::Duration,
) -> bool {
    accepted_at >= now - age_max && accepted_at <= now + ACCEPTED_AT_AHEAD_MAX
}

/// Step 1: everything that can be judged without storing anything.
pub async fn validate(
    state: &ProcessingState,
    agent: &AgentRow,
    request: PaymentRequest,
) -> Result<Validated, ApiError> {
    let mut fields = std::collections::BTreeMap::new();
    let id = request.agent_txn_id.trim();
    if id.is_empty() || id.len() > MAX_AGENT_TXN_ID_LEN || id != request.agent_txn_id {
        fields.insert(
            "agent_txn_id".to_owned(),
            format!("1 to {MAX_AGENT_TXN_ID_LEN} characters, no surrounding spaces"),
        );
    }
    if !request.amount.is_positive() {
        fields.insert(
            "amount".to_owned(),
            "must be a positive number of kopecks".to_owned(),
        );
    }
    if request.agent_fee.is_negative() {
        fields.insert("agent_fee".to_owned(), "must not be negative".to_owned());
    }
    for (name, value) in [
        ("amount", request.amount),
        ("agent_fee", request.agent_fee),
        ("cash", request.cash),
    ] {
        if value.get() > Kopecks::MAX_INPUT.get() {
            fields.insert(
                name.to_owned(),
                format!("must be at most {} RUB", Kopecks::MAX_INPUT),
            );
        }
    }
    if request.amount.checked_add(request.agent_fee) != Some(request.cash) {
        fields.insert(
            "cash".to_owned(),
            "cash must equal amount + agent_fee".to_owned(),
        );
    }
    let accepted_at = time::OffsetDateTime::parse(
        &request.accepted_at,
        &time::format_description::well_known::Rfc3339,
    )
    .ok();
    match accepted_at {
        None => {
            fields.insert(
                "accepted_at".to_owned(),
                "must be an RFC 3339 timestamp".to_owned(),
            );
        }
        Some(at)
            if !plausible_acceptance(
                at,
                time::OffsetDateTime::now_utc(),
                state.accepted_at_age_max,
            ) =>
        {
            fields.insert(
                "accepted_at".to_owned(),
                format!(
                    "must lie between {} days ago and {} hours from now",
                    state.accepted_at_age_max.whole_days(),
                    ACCEPTED_AT_AHEAD_MAX.whole_hours()
                ),
            );
        }
        Some(_) => {}
    }
    let provider = store::provider(&state.pool, request.provider_id)
        .await
        .map_err(ApiError::internal)?
        .filter(|p| p.active);
    match &provider {
        None => {
            fields.insert(
                "provider_id".to_owned(),
                "no active provider has this id".to_owned(),
            );
        }
        Some(p) => {
            if let Err(refused) = p.field_set()?.validate(&request.account, &request.extra) {
                fields.extend(refused);
            }
            if request.amount.is_positive()
                && (request.amount.get() < p.min_amount || request.amount.get() > p.max_amount)
            {
                fields.insert(
                    "amount".to_owned(),
                    format!(
                        "must be from {} to {} RUB",
                        Kopecks::new(p.min_amount),
                        Kopecks::new(p.max_amount)
                    ),
                );
            }
        }
    }
    // The fee and the total charged are checked: a fee that does not fit refuses the
    // payment; it never becomes a zero fee.
    let processing_fee = match agent.fee_rule().on_top(request.amount) {
        Ok((fee, _total)) => fee,
        Err(e) => {
            fields.insert(
                "amount".to_owned(),
                format!("processing's fee cannot be computed: {e}"),
            );
            Kopecks::ZERO
        }
    };
    match (provider, accepted_at) {
        (Some(provider), Some(accepted_at)) if fields.is_empty() => {
            let request_hash = hash(&request);
            Ok(Validated {
                request,
                provider,
                accepted_at,
                processing_fee,
                request_hash,
            })
        }
        _ => Err(ApiError::Validation { fields }),
    }
}

/// A stable digest of everything the agent asked for: a repeat must ask for the same.
/// The extra fields join the digest only when there are some, so a payment made before
/// fields existed hashes as it did then (its repeat after an upgrade is still a repeat).
fn hash(request: &PaymentRequest) -> String {
    let mut canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}",
        request.agent_txn_id,
        request.provider_id,
        request.account,
        request.cash.get(),
        request.agent_fee.get(),
        request.amount.get(),
        request.accepted_at
    );
    if !request.extra.is_empty() {
        // A BTreeMap serialises in key order: equal maps, equal text.
        canonical.push('\n');
        canonical.push_str(&crate::json_column::to_text(&request.extra));
    }
    crate::server::hex::lower(&Sha256::digest(canonical.as_bytes()))
}

/// How claiming the key ended.
pub enum Claimed {
    /// A new payment: `pending` with its reservation, or `rejected` (220).
    New(PaymentRow),
    /// The same request was made before: its payment as it stands.
    Repeat(PaymentRow),
    /// The key was used with another body.
    Conflict(PaymentRow),
}

/// Step 2, one transaction: claim the key, then reserve or reject.
pub async fn claim_and_reserve(
    pool: &Db,
    agent_id: i64,
    v: &Validated,
    attempt_lease: std::time::Duration,
) -> Result<Claimed, sqlx::Error> {
    let now = clock::now();
    // The request that made the payment attempts it first: it holds the lease from the
    // start, so the retrier does not send the same pay beside it.
    let leased_until = lease_until(attempt_lease);
    let total = v.request.amount.get() + v.processing_fee.get();
    let mut tx = pool.begin().await?;
    // The row comes back from the statement that wrote it: no read after the commit.
    let inserted: Option<PaymentRow> = db::query_as(concat!(
        "INSERT INTO payments (agent_id, agent_txn_id, request_hash, provider_id, account, cash, agent_fee, amount,
                               processing_fee, status, next_attempt_at, accepted_at, created_at, updated_at, extra)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $13, $11, $10, $10, $12)
         ON CONFLICT (agent_id, agent_txn_id) DO NOTHING RETURNING ",
        payment_columns!()
    ))
    .bind(agent_id)
    .bind(&v.request.agent_txn_id)
    .bind(&v.request_hash)
    .bind(v.provider.id)
    .bind(&v.request.account)
    .bind(v.request.cash.get())
    .bind(v.request.agent_fee.get())
    .bind(v.request.amount.get())
    .bind(v.processing_fee.get())
    .bind(now)
    .bind(clock::stamp(v.accepted_at))
    .bind(crate::json_column::to_text(&v.request.extra))
    .bind(leased_until)
    .fetch_optional(&mut tx)
    .await?;
    let Some(mut row) = inserted else {
        // The first request's row, read in this transaction: it may not be committed yet
        // (it can share this one's group commit); the rollback returns once it is.
        let existing: PaymentRow = db::query_as(select_payments!(
            "WHERE agent_id = $1 AND agent_txn_id = $2"
        ))
        .bind(agent_id)
        .bind(&v.request.agent_txn_id)
        .fetch_one(&mut tx)
        .await?;
        tx.rollback().await?;
        return Ok(if existing.request_hash == v.request_hash {
            Claimed::Repeat(existing)
        } else {
            Claimed::Conflict(existing)
        });
    };
    let id = row.id;
    let account = agent_account(agent_id);
    let reserved = db::query(
        "UPDATE ledger_accounts SET reserved = reserved + $1 WHERE id = $2 AND balance - reserved >= $1",
    )
    .bind(total)
    .bind(&account)
    .execute(&mut tx)
    .await?
    .rows_affected()
        == 1;
    // Reserved, the payment stays `pending`: a pending payment is its own reservation
    // (the ledger check holds `reserved` to the sum of them), so nothing more is written.
    if !reserved {
        row = db::query_as(concat!(
            "UPDATE payments SET status = 'rejected', result = $1, message = $2, next_attempt_at = NULL
             WHERE id = $3 RETURNING ",
            payment_columns!()
        ))
        .bind(i64::from(ResultCode::InsufficientFunds.code()))
        .bind(ResultCode::InsufficientFunds.comment())
        .bind(id)
        .fetch_one(&mut tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Claimed::New(row))
}

/// A payment after an attempt, and the agent's balance if this attempt settled it.
pub struct Attempted {
    pub payment: PaymentRow,
    /// The agent's balance as the settlement's own transaction left it: the request that
    /// made the payment answers with it instead of reading the agent again. `None` when
    /// the attempt settled nothing (still pending, or settled meanwhile by another).
    pub agent_balance: Option<Kopecks>,
}

/// A payment this attempt settled: the row the settlement wrote and the agent's balance
/// after it.
pub struct Settled {
    pub payment: PaymentRow,
    pub agent_balance: Kopecks,
}

/// Step 3 and 4: one `pay` to the provider and the settlement its answer calls for.
/// Returns the payment as it stands afterwards. `known` is the payment's provider when
/// the caller has just read it (the request that made the payment): one read fewer.
pub async fn attempt(
    state: &ProcessingState,
    payment: &PaymentRow,
    known: Option<ProviderRow>,
) -> Result<Attempted, sqlx::Error> {
    let provider = match known.filter(|p| p.id == payment.provider_id) {
        Some(provider) => provider,
        None => store::provider(&state.pool, payment.provider_id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?,
    };
    let accepted_at = time::OffsetDateTime::parse(
        &payment.accepted_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let sent_at = clock::now();
    let answer = connectors::pay(
        &state.provider_client,
        &provider.endpoint(),
        &payment.id.to_string(),
        &payment.account,
        &payment.extra.0,
        Kopecks::new(payment.amount),
        &accepted_at,
    )
    .await;
    let answered_at = clock::now();
    let attempts = payment.attempts + 1;
    // The attempt's row in the payment's history, written with the outcome it led to.
    let call = |next_attempt_at: Option<Stamp>| AttemptRecord {
        payment_id: payment.id,
        attempt: attempts,
        sent_at,
        answered_at,
        answer: &answer,
        next_attempt_at,
    };
    tracing::info!(
        payment_id = payment.id,
        agent_txn_id = %payment.agent_txn_id,
        provider = provider.id,
        attempt = attempts,
        answer = %answer.describe(),
        "provider pay"
    );
    // Each branch's statement returns the row it wrote; only a payment settled meanwhile
    // by someone else is read again.
    let settled = match &answer {
        ProviderAnswer::Answered {
            result: 0,
            prv_txn,
            message,
        } => {
            complete(
                &state.pool,
                payment,
                prv_txn.as_deref(),
                message,
                attempts,
                &answer.describe(),
                &call(None),
            )
            .await?
        }
        ProviderAnswer::Answered {
            result, message, ..
        } if answer.is_final() => {
            fail(
                &state.pool,
                payment,
                *result,
                message,
                attempts,
                &answer.describe(),
                &call(None),
            )
            .await?
        }
        _ => {
            let delay = backoff(attempts, state.retry_delay_max);
            let next = clock::stamp(time::OffsetDateTime::now_utc() + delay);
            // The payment's message says why it is still pending (an unreachable provider,
            // an untrusted certificate, an answer that did not match the request), so the
            // agent and the operator see it without reading logs.
            let mut tx = state.pool.begin().await?;
            let written: Option<PaymentRow> = db::query_as(concat!(
                "UPDATE payments SET attempts = $1, next_attempt_at = $2, last_answer = $3, message = $3,
                        updated_at = $4
                 WHERE id = $5 AND status = 'pending' RETURNING ",
                payment_columns!()
            ))
            .bind(attempts)
            .bind(next)
            .bind(answer.describe())
            .bind(clock::now())
            .bind(payment.id)
            .fetch_optional(&mut tx)
            .await?;
            record_attempt(&mut tx, &call(written.as_ref().map(|_| next))).await?;
            tx.commit().await?;
            return Ok(Attempted {
                payment: match written {
                    Some(row) => row,
                    None => payment_by_id(&state.pool, payment.id).await?,
                },
                agent_balance: None,
            });
        }
    };
    Ok(match settled {
        Some(Settled {
            payment,
            agent_balance,
        }) => Attempted {
            payment,
            agent_balance: Some(agent_balance),
        },
        None => Attempted {
            payment: payment_by_id(&state.pool, payment.id).await?,
            agent_balance: None,
        },
    })
}

async fn payment_by_id(pool: &Db, id: i64) -> Result<PaymentRow, sqlx::Error> {
    payment(pool, id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// The wait before attempt `attempts + 1`: 1 s, doubling, at most `max`.
pub fn backoff(attempts: i64, max: Duration) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    Duration::from_secs(1u64 << exponent).min(max)
}

/// Settles a payment the provider credited: the ledger entry, the reservation released,
/// the payment `completed` — or nothing, if it was settled already (`None`).
async fn complete(
    pool: &Db,
    payment: &PaymentRow,
    prv_txn: Option<&str>,
    message: &str,
    attempts: i64,
    last_answer: &str,
    call: &AttemptRecord<'_>,
) -> Result<Option<Settled>, sqlx::Error> {
    let now = clock::now();
    let mut tx = pool.begin().await?;
    let written: Option<PaymentRow> = db::query_as(concat!(
        "UPDATE payments SET status = 'completed', result = 0, message = $1, prv_txn = $2, attempts = $3,
                next_attempt_at = NULL, last_answer = $4, updated_at = $5
         WHERE id = $6 AND status = 'pending' RETURNING ",
        payment_columns!()
    ))
    .bind(message)
    .bind(prv_txn)
    .bind(attempts)
    .bind(last_answer)
    .bind(now)
    .bind(payment.id)
    .fetch_optional(&mut tx)
    .await?;
    let Some(written) = written else {
        // Settled meanwhile by another attempt: this call still happened.
        tx.rollback().await?;
        record_attempt(pool, call).await?;
        return Ok(None);
    };
    record_attempt(&mut tx, call).await?;
    // The reservation ends first: its statement locks the agent's account before the
    // entry's locks the provider's and the fees'. Every settlement of an agent takes its
    // account first, so two of them queue there; with the entry first, PostgreSQL locked
    // the three rows in the order it met them and two of one agent's settlements
    // deadlocked (tests/scale_out.rs).
    let before = release(&mut tx, payment).await?;
    let agent = agent_account(payment.agent_id);
    let provider = provider_account(payment.provider_id);
    let agent_moves = -payment.total();
    ledger::post(
        &mut tx,
        "payment",
        &payment.id.to_string(),
        &[
            (agent.as_str(), agent_moves),
            (provider.as_str(), payment.amount),
            (ledger::FEES, payment.processing_fee),
        ],
    )
    .await?;
    // The entry moved the agent's account by exactly this, under the lock taken above.
    let agent_balance = before
        .get()
        .checked_add(agent_moves)
        .map(Kopecks::new)
        .ok_or_else(|| sqlx::Error::Protocol("an agent's balance out of range".into()))?;
    tx.commit().await?;
    tracing::info!(
        payment_id = payment.id,
        amount = payment.amount,
        fee = payment.processing_fee,
        "payment completed"
    );
    Ok(Some(Settled {
        payment: written,
        agent_balance,
    }))
}

/// Voids a payment the provider refused for good: the reservation released, the payment
/// `failed` with the provider's code — or nothing, if it was settled already (`None`).
async fn fail(
    pool: &Db,
    payment: &PaymentRow,
    result: u16,
    message: &str,
    attempts: i64,
    last_answer: &str,
    call: &AttemptRecord<'_>,
) -> Result<Option<Settled>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let written: Option<PaymentRow> = db::query_as(concat!(
        "UPDATE payments SET status = 'failed', result = $1, message = $2, attempts = $3, next_attempt_at = NULL,
                last_answer = $4, updated_at = $5
         WHERE id = $6 AND status = 'pending' RETURNING ",
        payment_columns!()
    ))
    .bind(i64::from(result))
    .bind(message)
    .bind(attempts)
    .bind(last_answer)
    .bind(clock::now())
    .bind(payment.id)
    .fetch_optional(&mut tx)
    .await?;
    let Some(written) = written else {
        // Settled meanwhile by another attempt: this call still happened.
        tx.rollback().await?;
        record_attempt(pool, call).await?;
        return Ok(None);
    };
    record_attempt(&mut tx, call).await?;
    let agent_balance = release(&mut tx, payment).await?;
    tx.commit().await?;
    tracing::info!(
        payment_id = payment.id,
        result,
        "payment failed; reservation voided"
    );
    Ok(Some(Settled {
        payment: written,
        agent_balance,
    }))
}

/// Ends the payment's reservation — the caller has just moved it out of `pending` in the
/// same transaction; the agent's balance as this transaction has it (before any entry the
/// caller posts after it).
async fn release(conn: &mut Tx, payment: &PaymentRow) -> Result<Kopecks, sqlx::Error> {
    let (balance,): (i64,) = db::query_as(
        "UPDATE ledger_accounts SET reserved = reserved - $1 WHERE id = $2 RETURNING balance",
    )
    .bind(payment.total())
    .bind(agent_account(payment.agent_id))
    .fetch_one(&mut *conn)
    .await?;
    Ok(Kopecks::new(balance))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap() {
        let max = Duration::from_secs(60);
        assert_eq!(backoff(1, max), Duration::from_secs(1));
        assert_eq!(backoff(2, max), Duration::from_secs(2));
        assert_eq!(backoff(6, max), Duration::from_secs(32));
        assert_eq!(backoff(7, max), Duration::from_secs(60));
        assert_eq!(backoff(1000, max), Duration::from_secs(60));
        assert_eq!(
            backoff(3, Duration::from_millis(200)),
            Duration::from_millis(200)
        );
    }
}
