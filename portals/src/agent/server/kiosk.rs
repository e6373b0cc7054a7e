//! The kiosk's API, `/api/kiosk/v1` (login `kiosk`): what the kiosk page uses — the
//! terminal's state and catalog, the account check, a cash session per customer, the pay,
//! and the receipt. Cash never comes from here: kiosk-shell reports each stacked bill in
//! the terminal realm (`terminal.rs`), and a session pays only after a successful check.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

pub use crate::agent::model::{KioskState, Receipt, SessionView};
use shared::error::ApiError;
use shared::extract::JsonBody;
use shared::fee::FeeRule;
use shared::money::Kopecks;
use shared::wire::agent::{CatalogProvider, CheckAnswer, CheckRequest, Extra};

use super::AgentState;
use super::processing::{self, CallError};
use super::store::{self, PaymentRow, SessionRow};
use super::sync;
use super::values;
use crate::server::clock;

/// How long `pay` waits for processing before it answers with the payment still on its way.
pub const PAY_WAIT: Duration = Duration::from_secs(8);
/// How long a successful check lets a session be opened and paid on it.
pub const CHECK_VALID: Duration = Duration::from_secs(30 * 60);

fn db(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

pub async fn kiosk_state(state: &AgentState) -> Result<KioskState, ApiError> {
    let status = sync::status(state).await.map_err(db)?;
    let catalog = sync::cached_catalog(
        &store::sync_state(&state.pool, "catalog")
            .await
            .map_err(db)?,
    );
    let providers = catalog.map(|c| c.providers).unwrap_or_default();
    // The ids collected first: an iterator borrowing `providers` held across the awaits
    // would make this future not `Send` for every lifetime.
    let ids: Vec<i64> = providers.iter().map(|p| p.provider_id).collect();
    Ok(KioskState {
        logos: super::logos::available(&state.logo_dir, ids).await,
        status,
        providers,
        fee: store::fee_rule(&state.pool).await.map_err(db)?,
        dev_mode: state.dev_mode,
        idle_s: state.kiosk_timing.idle_s,
    })
}

async fn get_state(State(state): State<AgentState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kiosk_state(&state).await?))
}

/// The provider from the catalog, if the payer's values fit its fields (`422` naming the
/// field otherwise, before processing is asked).
pub(super) async fn provider(
    state: &AgentState,
    provider_id: i64,
    account: &str,
    extra: &Extra,
) -> Result<CatalogProvider, ApiError> {
    let catalog = sync::cached_catalog(
        &store::sync_state(&state.pool, "catalog")
            .await
            .map_err(db)?,
    );
    let provider = catalog
        .and_then(|c| {
            c.providers
                .into_iter()
                .find(|p| p.provider_id == provider_id)
        })
        .ok_or_else(|| ApiError::field("provider_id", "no such provider in the catalog"))?;
    values::validate(&provider, account, extra)?;
    Ok(provider)
}

/// Processing's `422 validation_failed` names the fields it refused (wire.md); the kiosk
/// passes those on. Any other refusal is said about the account, as before.
fn refusal(body: String) -> ApiError {
    let named = serde_json::from_str::<shared::error::ErrorBody>(&body)
        .ok()
        .and_then(|b| b.error.fields)
        .filter(|f| !f.is_empty() && f.len() <= shared::fields::MAX_FIELDS + 1);
    match named {
        Some(fields) => ApiError::Validation {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.chars().take(40).collect(), v.chars().take(200).collect()))
                .collect(),
        },
        None => ApiError::field("account", body),
    }
}

/// Checks the payer's values with the provider, through processing, and records the
/// answer: a session opened on these exact values may then be paid.
pub async fn check(state: &AgentState, request: &CheckRequest) -> Result<CheckAnswer, ApiError> {
    provider(state, request.provider_id, &request.account, &request.extra).await?;
    let contract = store::contract(&state.pool)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::TerminalBlocked {
            reason: "no_contract".into(),
        })?;
    match processing::check(&state.client, &contract, request).await {
        Ok(answer) => {
            store::record_check(
                &state.pool,
                request.provider_id,
                &request.account,
                &values::to_text(&request.extra),
                i64::from(answer.result),
            )
            .await
            .map_err(db)?;
            Ok(answer)
        }
        Err(CallError::Refused { body, .. }) => Err(refusal(body)),
        Err(CallError::Suspended) => Err(ApiError::TerminalBlocked {
            reason: "suspended".into(),
        }),
        Err(e) => Err(ApiError::ProviderUnavailable {
            detail: e.to_string(),
        }),
    }
}

async fn post_check(
    State(state): State<AgentState>,
    JsonBody(body): JsonBody<CheckRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(check(&state, &body).await?))
}

/// The agent's fee on `cash` and what is left to credit. A fee that cannot be computed
/// refuses the session's cash (`422` on `cash`); it never becomes a zero fee.
pub fn split(fee: &FeeRule, cash: Kopecks) -> Result<(Kopecks, Kopecks), ApiError> {
    fee.split(cash)
        .map_err(|e| ApiError::field("cash", format!("the agent's fee cannot be computed: {e}")))
}

async fn view(state: &AgentState, session: SessionRow) -> Result<SessionView, ApiError> {
    let fee = store::fee_rule(&state.pool).await.map_err(db)?;
    let cash = Kopecks::new(session.cash);
    let (agent_fee, amount) = split(&fee, cash)?;
    let acceptable = super::cash::acceptable(state, &session).await?;
    Ok(SessionView {
        acceptable,
        session_id: session.id,
        provider_id: session.provider_id,
        provider_name: session.provider_name,
        account: session.account,
        extra: stored_extra(&session.extra),
        status: session.status,
        min_amount: Kopecks::new(session.min_amount),
        max_amount: Kopecks::new(session.max_amount),
        cash,
        agent_fee,
        amount,
    })
}

/// Values this module stored, for showing; an unreadable text (never written by us) shows
/// as none and is logged.
fn stored_extra(text: &str) -> Extra {
    values::from_text(text).unwrap_or_else(|e| {
        tracing::error!(error = %e, "unreadable stored payment fields");
        Extra::new()
    })
}

async fn session_or_404(state: &AgentState, id: i64) -> Result<SessionRow, ApiError> {
    store::session(&state.pool, id)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("session {id}"),
        })
}

async fn refuse_if_blocked(state: &AgentState) -> Result<(), ApiError> {
    let status = sync::status(state).await.map_err(db)?;
    if status.blocked {
        return Err(ApiError::TerminalBlocked {
            reason: status.blocked_reasons.join(", "),
        });
    }
    Ok(())
}

#[derive(Deserialize)]
struct OpenSession {
    provider_id: i64,
    account: String,
    #[serde(default)]
    extra: Extra,
}

/// Opens a cash session for a provider and valid values (not while blocked). It
/// remembers the newest successful check of exactly these values within [`CHECK_VALID`];
/// without one it opens, takes no cash and cannot be paid.
pub async fn open(
    state: &AgentState,
    provider_id: i64,
    account: &str,
    extra: &Extra,
) -> Result<SessionView, ApiError> {
    refuse_if_blocked(state).await?;
    let provider = provider(state, provider_id, account, extra).await?;
    let extra = values::to_text(extra);
    let since = clock::stamp_text(time::OffsetDateTime::now_utc() - CHECK_VALID);
    let check_id = store::successful_check(&state.pool, provider_id, account, &extra, &since)
        .await
        .map_err(db)?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO sessions (provider_id, provider_name, account, min_amount, max_amount, status, created_at, check_id, extra)
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8) RETURNING id",
    )
    .bind(provider.provider_id)
    .bind(&provider.name)
    .bind(account)
    .bind(provider.min_amount.get())
    .bind(provider.max_amount.get())
    .bind(clock::now_text())
    .bind(check_id)
    .bind(&extra)
    .fetch_one(&state.pool)
    .await
    .map_err(db)?;
    tracing::info!(
        session = id,
        provider = provider.provider_id,
        account,
        "kiosk session opened"
    );
    let session = session_or_404(state, id).await?;
    view(state, session).await
}

async fn open_session(
    State(state): State<AgentState>,
    JsonBody(body): JsonBody<OpenSession>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(open(&state, body.provider_id, &body.account, &body.extra).await?),
    ))
}

/// A session's totals as the agent has them.
pub async fn session_view(state: &AgentState, id: i64) -> Result<SessionView, ApiError> {
    let session = session_or_404(state, id).await?;
    view(state, session).await
}

async fn get_session(
    State(state): State<AgentState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(session_view(&state, id).await?))
}

async fn receipt(state: &AgentState, payment: PaymentRow) -> Result<Receipt, ApiError> {
    let contract = store::contract(&state.pool).await.map_err(db)?;
    let claim_code = super::claims::code_of_payment(&state.pool, payment.id)
        .await
        .map_err(db)?;
    Ok(Receipt {
        issuer: state.issuer.clone(),
        operation_number: super::operation_number::operation_number(payment.id),
        local_time: state
            .zone
            .local(&payment.accepted_at)
            .unwrap_or_else(|| payment.accepted_at.clone()),
        claim_code,
        agent: contract.map(|c| c.contract_number).unwrap_or_default(),
        terminal: state.terminal_name.clone(),
        provider: payment.provider_name,
        account: payment.account,
        extra: stored_extra(&payment.extra),
        cash: Kopecks::new(payment.cash),
        agent_fee: Kopecks::new(payment.agent_fee),
        amount: Kopecks::new(payment.amount),
        agent_txn_id: payment.agent_txn_id,
        payment_id: payment.processing_payment_id,
        accepted_at: payment.accepted_at,
        status: payment.status,
        message: payment.message,
    })
}

/// Closes the session and stores its payment in the outbox (one transaction); a repeat
/// returns the same payment.
pub async fn pay(state: &AgentState, session_id: i64) -> Result<PaymentRow, ApiError> {
    if let Some(existing) = store::payment_of_session(&state.pool, session_id)
        .await
        .map_err(db)?
    {
        return Ok(existing);
    }
    let session = session_or_404(state, session_id).await?;
    // The page checks before it opens a session, but the page is not what guards money:
    // the session's own check must have vouched for its provider, account and every
    // other field.
    if !store::session_vouched(&state.pool, session_id)
        .await
        .map_err(db)?
    {
        return Err(ApiError::CheckRequired);
    }
    let fee = store::fee_rule(&state.pool).await.map_err(db)?;
    let (agent_fee, amount) = split(&fee, Kopecks::new(session.cash))?;
    if !amount.is_positive() || amount.get() < session.min_amount {
        return Err(ApiError::field(
            "cash",
            format!(
                "the payment must credit at least {} RUB",
                Kopecks::new(session.min_amount)
            ),
        ));
    }
    let now = clock::now_text();
    let agent_txn_id = format!("{session_id}-{}", shared::auth::generate_password());
    let mut tx = state.pool.begin().await.map_err(db)?;
    let closed = sqlx::query(
        "UPDATE sessions SET status = 'paid', closed_at = $1 WHERE id = $2 AND status = 'open' AND abandoned_at IS NULL",
    )
    .bind(&now)
    .bind(session_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected()
        == 1;
    if !closed {
        tx.rollback().await.map_err(db)?;
        return store::payment_of_session(&state.pool, session_id)
            .await
            .map_err(db)?
            .ok_or_else(|| ApiError::field("session", "this session is closed"));
    }
    sqlx::query(
        "INSERT INTO payments (session_id, agent_txn_id, provider_id, provider_name, account, cash, agent_fee, amount,
                               accepted_at, status, next_attempt_at, created_at, updated_at, extra)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $9, $9, $9, $10)",
    )
    .bind(session_id)
    .bind(&agent_txn_id)
    .bind(session.provider_id)
    .bind(&session.provider_name)
    .bind(&session.account)
    .bind(session.cash)
    .bind(agent_fee.get())
    .bind(amount.get())
    .bind(&now)
    .bind(&session.extra)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(session = session_id, agent_txn_id, cash = session.cash, agent_fee = %agent_fee, amount = %amount, "payment stored in the outbox");
    state.outbox_wake.notify_one();
    store::payment_of_session(&state.pool, session_id)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::internal("payment vanished"))
}

/// Pays and waits briefly for processing's first answer; the receipt says where it stands.
pub async fn pay_and_wait(state: &AgentState, id: i64) -> Result<Receipt, ApiError> {
    let mut payment = pay(state, id).await?;
    let deadline = tokio::time::Instant::now() + PAY_WAIT;
    // Wait for the first attempt's outcome; if processing cannot be reached, answer at once:
    // the payment is safe in the outbox and the receipt says it is on its way.
    while payment.status == "queued"
        && payment.attempts == 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        payment = store::payment_of_session(&state.pool, id)
            .await
            .map_err(db)?
            .unwrap_or(payment);
    }
    receipt(state, payment).await
}

async fn post_pay(
    State(state): State<AgentState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(pay_and_wait(&state, id).await?))
}

async fn get_receipt(
    State(state): State<AgentState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let payment = store::payment_of_session(&state.pool, id)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("payment of session {id}"),
        })?;
    Ok(Json(receipt(&state, payment).await?))
}

pub fn router(state: AgentState) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/kiosk/v1/state", get(get_state))
        .route("/api/kiosk/v1/checks", post(post_check))
        .route("/api/kiosk/v1/sessions", post(open_session))
        .route("/api/kiosk/v1/sessions/{id}", get(get_session))
        .route("/api/kiosk/v1/sessions/{id}/pay", post(post_pay))
        .route("/api/kiosk/v1/sessions/{id}/receipt", get(get_receipt))
        .with_state(state)
}
