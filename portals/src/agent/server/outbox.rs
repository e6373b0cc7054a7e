//! The outbox: payments are stored first (`queued`), then sent to processing until its
//! answer is final — `completed`, `failed` or `rejected`. A `pending` answer is polled by
//! its `agent_txn_id`. Network errors back off (1 s doubling, at most 60 s) and never lose
//! the payment; a restart picks up where it left.

use std::time::Duration;

use shared::money::Kopecks;
use shared::wire::agent::{PaymentRequest, PaymentState};

use super::AgentState;
use super::claims;
use super::processing::{self, CallError};
use super::store::{self, PaymentRow};
use super::sync;
use super::values;
use crate::server::clock;

/// The longest wait between two attempts.
pub const RETRY_DELAY_MAX: Duration = Duration::from_secs(60);

pub fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    Duration::from_secs(1u64 << exponent).min(RETRY_DELAY_MAX)
}

/// One attempt for one payment: send it (or ask about it) and record what came back.
pub async fn attempt(state: &AgentState, payment: &PaymentRow) -> Result<(), sqlx::Error> {
    let Some(contract) = store::contract(&state.pool).await? else {
        return reschedule(state, payment, "no contract with processing").await;
    };
    // The payment's other fields travel with it on every attempt; a payment whose stored
    // fields cannot be read is not sent without them (processing would refuse it as
    // missing a field, and the cash would look rejected for a fault of ours).
    let extra = match values::from_text(&payment.extra) {
        Ok(extra) => extra,
        Err(e) => {
            return reschedule(state, payment, &format!("unreadable payment fields: {e}")).await;
        }
    };
    let request = PaymentRequest {
        agent_txn_id: payment.agent_txn_id.clone(),
        provider_id: payment.provider_id,
        account: payment.account.clone(),
        extra,
        cash: Kopecks::new(payment.cash),
        agent_fee: Kopecks::new(payment.agent_fee),
        amount: Kopecks::new(payment.amount),
        accepted_at: payment.accepted_at.clone(),
    };
    // Sending the same request again is how a pending payment is polled: processing
    // answers a repeat with the payment as it stands.
    match processing::pay(&state.client, &contract, &request).await {
        Ok(answer) => record(state, payment, &answer).await,
        Err(CallError::Refused { status, body }) => {
            // Processing understood and refused (422, 409): final, with the cash on record.
            tracing::error!(agent_txn_id = %payment.agent_txn_id, status, body, "processing refused the payment");
            let mut tx = state.pool.begin().await?;
            sqlx::query(
                "UPDATE payments SET status = 'rejected', message = $1, attempts = attempts + 1, next_attempt_at = NULL,
                        last_error = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(format!("HTTP {status}: {body}"))
            .bind(clock::now_text())
            .bind(payment.id)
            .execute(&mut *tx)
            .await?;
            // The cash is in the box and credits nothing: listed for the operator at once.
            claims::open_for_payment(&mut tx, payment.id).await?;
            tx.commit().await
        }
        Err(e) => reschedule(state, payment, &e.to_string()).await,
    }
}

async fn record(
    state: &AgentState,
    payment: &PaymentRow,
    answer: &PaymentState,
) -> Result<(), sqlx::Error> {
    let status = match answer.status.as_str() {
        "completed" | "failed" | "rejected" | "pending" => answer.status.as_str(),
        _ => "pending",
    };
    let attempts = payment.attempts + 1;
    let next = (status == "pending")
        .then(|| clock::stamp_text(time::OffsetDateTime::now_utc() + backoff(attempts)));
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "UPDATE payments SET status = $1, result = $2, message = $3, processing_payment_id = $4, processing_fee = $5,
                prv_txn = $6, attempts = $7, next_attempt_at = $8, last_error = NULL, updated_at = $9
         WHERE id = $10",
    )
    .bind(status)
    .bind(answer.result.map(i64::from))
    .bind(&answer.message)
    .bind(answer.payment_id)
    .bind(answer.processing_fee.get())
    .bind(&answer.prv_txn)
    .bind(attempts)
    .bind(next)
    .bind(clock::now_text())
    .bind(payment.id)
    .execute(&mut *tx)
    .await?;
    // A failed or rejected payment's cash becomes unresolved cash with a claim code, in
    // the same transaction as the answer (nothing for any other status).
    claims::open_for_payment(&mut tx, payment.id).await?;
    tx.commit().await?;
    tracing::info!(agent_txn_id = %payment.agent_txn_id, status, result = ?answer.result, "outbox: processing answered");
    if let Ok(Some(contract)) = store::contract(&state.pool).await
        && let Ok(balance) = processing::balance(&state.client, &contract).await
    {
        sync::remember_balance(state, &balance).await;
    }
    Ok(())
}

async fn reschedule(
    state: &AgentState,
    payment: &PaymentRow,
    error: &str,
) -> Result<(), sqlx::Error> {
    let attempts = payment.attempts + 1;
    let next = clock::stamp_text(time::OffsetDateTime::now_utc() + backoff(attempts));
    tracing::warn!(agent_txn_id = %payment.agent_txn_id, attempts, error, "outbox: not delivered; will retry");
    sqlx::query("UPDATE payments SET attempts = $1, next_attempt_at = $2, last_error = $3, updated_at = $4 WHERE id = $5")
        .bind(attempts)
        .bind(next)
        .bind(error)
        .bind(clock::now_text())
        .bind(payment.id)
        .execute(&state.pool)
        .await
        .map(|_| ())
}

/// Runs until the database closes: sends what is due.
pub async fn run(state: AgentState) {
    while !state.pool.is_closed() {
        match store::due_payments(&state.pool, &clock::now_text(), 32).await {
            Ok(due) => {
                for payment in &due {
                    if let Err(e) = attempt(&state, payment).await {
                        tracing::error!(agent_txn_id = %payment.agent_txn_id, error = %e, "outbox: cannot record an attempt");
                    }
                }
                if !due.is_empty() {
                    continue;
                }
            }
            Err(e) => tracing::error!(error = %e, "outbox: cannot read due payments"),
        }
        tokio::select! {
            _ = state.outbox_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
