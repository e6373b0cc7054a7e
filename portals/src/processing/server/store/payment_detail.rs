//! The store's steps for one payment's history (docs/processing.md "A payment in
//! detail"): the attempt log written beside each settlement or rescheduling, the detail
//! read in one snapshot, and the operator's "retry now".
//!
//! "Retry now" only makes a pending payment due at once; the retrier then claims it and
//! sends the pay exactly as it would have at the scheduled time (`payment::claim_due`,
//! `payment::attempt`), so it adds no second path to the provider and no second credit.
//! It acts only on a payment waiting out its backoff: the payment's `next_attempt_at` is
//! still the one its last attempt scheduled. A payment held by a running attempt has a
//! lease there instead (`claim_due` wrote it), and is left alone.

use serde_json::json;

use super::super::connectors::ProviderAnswer;
use super::super::payment::PaymentRow;
use crate::processing::detail::{
    AUDIT_SHOWN_MAX, CALLS_SHOWN_MAX, PaymentDetail, Posting, ProviderCall, RetryRefusal,
};
use crate::server::audit::{self, AuditEntry, AuditKind, Change};
use crate::server::clock::{self, OptStamp, Stamp};
use crate::server::db::{self, Db, Exec, Tx};

/// The audit log's name of a payment.
pub fn payment_object(id: i64) -> String {
    format!("payment {id}")
}

/// One pay and what came back, as the attempt log keeps it.
pub struct AttemptRecord<'a> {
    pub payment_id: i64,
    pub attempt: i64,
    pub sent_at: Stamp,
    pub answered_at: Stamp,
    pub answer: &'a ProviderAnswer,
    /// When the payment is due again after this attempt; `None` once it settled.
    pub next_attempt_at: Option<Stamp>,
}

/// Writes one attempt's row: pass the transaction that records its outcome.
pub async fn record_attempt<'a>(
    on: impl Into<Exec<'a>>,
    r: &AttemptRecord<'_>,
) -> Result<(), sqlx::Error> {
    let (result, message, prv_txn, error) = match r.answer {
        ProviderAnswer::Answered {
            result,
            message,
            prv_txn,
        } => (
            Some(i64::from(*result)),
            Some(message.as_str()),
            prv_txn.as_deref(),
            None,
        ),
        ProviderAnswer::NoAnswer(why) => (None, None, None, Some(why.as_str())),
    };
    db::query(
        "INSERT INTO payment_attempts (payment_id, attempt, command, sent_at, answered_at, result, message,
                                       prv_txn, error, next_attempt_at)
         VALUES ($1, $2, 'pay', $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(r.payment_id)
    .bind(r.attempt)
    .bind(r.sent_at)
    .bind(r.answered_at)
    .bind(result)
    .bind(message)
    .bind(prv_txn)
    .bind(error)
    .bind(r.next_attempt_at)
    .execute(on)
    .await
    .map(|_| ())
}

/// The payment `id` with its calls, postings and audit entries, read in one snapshot
/// (a payment shown pending never comes with the postings of its completion); `None`
/// when there is no such payment.
pub async fn payment_detail(pool: &Db, id: i64) -> Result<Option<PaymentDetail>, sqlx::Error> {
    let mut tx = pool.snapshot().await?;
    let Some(payment) = super::super::payment::payment_in(&mut tx, id).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let names: Option<(String, String)> = db::query_as(
        "SELECT g.name, p.name FROM agents g, providers p WHERE g.id = $1 AND p.id = $2",
    )
    .bind(payment.agent_id)
    .bind(payment.provider_id)
    .fetch_optional(&mut tx)
    .await?;
    let (agent_name, provider_name) = names.unwrap_or_default();
    let (calls_total,): (i64,) =
        db::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM payment_attempts WHERE payment_id = $1")
            .bind(id)
            .fetch_one(&mut tx)
            .await?;
    let mut calls: Vec<ProviderCall> = db::query_as(
        "SELECT attempt, command, sent_at, answered_at, result, message, prv_txn, error, next_attempt_at
         FROM payment_attempts WHERE payment_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(id)
    .bind(CALLS_SHOWN_MAX)
    .fetch_all(&mut tx)
    .await?;
    calls.reverse();
    let postings: Vec<(i64, String, i64, Stamp)> = db::query_as(
        "SELECT e.id, p.account_id, p.amount, e.created_at
         FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id
         WHERE e.kind = 'payment' AND e.reference = $1 ORDER BY p.id",
    )
    .bind(id.to_string())
    .fetch_all(&mut tx)
    .await?;
    let audit = audit_of(&mut tx, &payment_object(id)).await?;
    tx.rollback().await?;
    let retry_possible = retry_possible(&payment, calls.last());
    Ok(Some(PaymentDetail {
        payment,
        agent_name,
        provider_name,
        calls,
        calls_total,
        postings: postings
            .into_iter()
            .map(|(entry, account, amount, at)| Posting::new(entry, account, amount, at.into()))
            .collect(),
        audit,
        retry_possible,
    }))
}

/// Whether "retry now" would act on `payment` whose last call is `last`: pending, and
/// due when that call said (not leased to an attempt since).
fn retry_possible(payment: &PaymentRow, last: Option<&ProviderCall>) -> bool {
    payment.status == "pending"
        && last.is_some_and(|call| {
            call.next_attempt_at.is_some() && call.next_attempt_at == payment.next_attempt_at
        })
}

/// The newest audit entries whose object is exactly `object`, oldest first.
async fn audit_of(tx: &mut Tx, object: &str) -> Result<Vec<AuditEntry>, sqlx::Error> {
    type Row = (i64, Stamp, String, String, Option<String>, Option<String>);
    let rows: Vec<Row> = db::query_as(
        "SELECT id, created_at, login, kind, before_json, after_json FROM audit_log
         WHERE object = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(object)
    .bind(AUDIT_SHOWN_MAX)
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .rev()
        .filter_map(|(id, at, login, kind, before, after)| {
            Some(AuditEntry {
                id,
                at: at.into(),
                login,
                kind: AuditKind::parse(&kind)?,
                object: object.to_owned(),
                before,
                after,
            })
        })
        .collect())
}

/// Makes the pending payment `id` due now, for the retrier to send at its next look,
/// recording `by` in the audit log in the same transaction. `None`: no such payment.
pub async fn retry_now(
    pool: &Db,
    id: i64,
    by: &str,
) -> Result<Option<Result<(), RetryRefusal>>, sqlx::Error> {
    let now = clock::now();
    let mut tx = pool.begin().await?;
    let found: Option<(String, OptStamp)> =
        db::query_as("SELECT status, next_attempt_at FROM payments WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut tx)
            .await?;
    let Some((status, OptStamp(was))) = found else {
        tx.rollback().await?;
        return Ok(None);
    };
    if status != "pending" {
        tx.rollback().await?;
        return Ok(Some(Err(RetryRefusal::NotPending)));
    }
    // Compare and set: only while the payment is due when its last attempt said. A
    // retrier claiming it meanwhile moves `next_attempt_at` to its lease, and this
    // changes nothing.
    let moved = db::query(
        "UPDATE payments SET next_attempt_at = $2, updated_at = $2
         WHERE id = $1 AND status = 'pending' AND next_attempt_at = $3
           AND next_attempt_at = (SELECT a.next_attempt_at FROM payment_attempts a
                                   WHERE a.payment_id = $1 ORDER BY a.id DESC LIMIT 1)",
    )
    .bind(id)
    .bind(now)
    .bind(was)
    .execute(&mut tx)
    .await?
    .rows_affected();
    if moved != 1 {
        tx.rollback().await?;
        return Ok(Some(Err(RetryRefusal::AttemptUnderway)));
    }
    audit::record(
        &mut tx,
        Change::new(by, AuditKind::PaymentRetryRequested, payment_object(id))
            .before(&json!({"status": "pending", "next_attempt_at": was.map(String::from)}))
            .after(&json!({"status": "pending", "next_attempt_at": String::from(now)})),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Ok(())))
}
