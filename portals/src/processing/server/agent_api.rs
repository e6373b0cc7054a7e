//! The agents' API, `/api/agent/v1` (wire.md "Processing"): the catalog (with ETag), the
//! balance, checks proxied to providers, and payments.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use sha2::{Digest, Sha256};
use shared::auth::Principal;
use shared::error::ApiError;
use shared::extract::JsonBody;
use shared::money::{Kopecks, Money};
use shared::wire::agent::{
    AgentBalance, Catalog, CatalogProvider, CheckAnswer, CheckRequest, PaymentRequest,
};
use shared::wire::osmp::ResultCode;

use super::ProcessingState;
use super::connectors::{self, ProviderAnswer};
use super::payment::{self, Claimed, PaymentRow};
use super::store::{self, AgentRow, AgentStatus, ProviderRow};
use crate::server::credentials::LoggedIn;

/// The agent as read at the start of this request: with its login (by the realm's
/// [`WithContract`](crate::server::credentials::WithContract) store), or by
/// [`refuse_suspended`].
type Requester = LoggedIn<AgentRow>;

fn agent_id(principal: &Principal) -> Result<i64, ApiError> {
    principal
        .subject
        .parse()
        .map_err(|_| ApiError::internal("agent login without an agent id"))
}

/// The catalog and its version (a digest of its content: equal content, equal version).
pub async fn catalog(state: &ProcessingState) -> Result<Catalog, ApiError> {
    let providers: Vec<CatalogProvider> = store::providers(&state.pool)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .filter(|p| p.active)
        .map(|p| CatalogProvider {
            provider_id: p.id,
            fields: p.fields(),
            name: p.name,
            service_kind: p.service_kind,
            min_amount: Kopecks::new(p.min_amount),
            max_amount: Kopecks::new(p.max_amount),
        })
        .collect();
    let digest = Sha256::digest(serde_json::to_vec(&providers).unwrap_or_default());
    let version = crate::server::hex::lower(&digest[..8]);
    Ok(Catalog { version, providers })
}

async fn get_catalog(
    State(state): State<ProcessingState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let catalog = catalog(&state).await?;
    let etag = format!("\"{}\"", catalog.version);
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok(([(header::ETAG, etag)], Json(catalog)).into_response())
}

pub fn balance_of(agent: &AgentRow) -> AgentBalance {
    AgentBalance {
        agent_id: agent.id,
        balance: Money::rub(Kopecks::new(agent.balance)),
        reserved: Money::rub(Kopecks::new(agent.reserved)),
        available: Money::rub(agent.available()),
        blocked: !agent.available().is_positive(),
        fee: Some(agent.fee_rule()),
    }
}

async fn get_balance(
    Extension(LoggedIn(agent)): Extension<Requester>,
) -> Result<Json<AgentBalance>, ApiError> {
    Ok(Json(balance_of(&agent)))
}

async fn post_check(
    State(state): State<ProcessingState>,
    Extension(LoggedIn(agent)): Extension<Requester>,
    JsonBody(body): JsonBody<CheckRequest>,
) -> Result<Json<CheckAnswer>, ApiError> {
    let provider = store::provider(&state.pool, body.provider_id)
        .await
        .map_err(ApiError::internal)?
        .filter(|p| p.active)
        .ok_or_else(|| ApiError::field("provider_id", "no active provider has this id"))?;
    // Every field is matched before the provider is asked: a value that cannot be right
    // never leaves processing (wire.md: 422 keyed by the field's name).
    provider
        .field_set()?
        .validate(&body.account, &body.extra)
        .map_err(|fields| ApiError::Validation { fields })?;
    // A check is not a payment: its txn_id only has to be digits and not repeat.
    let check_id = format!(
        "{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000
    );
    let answer = connectors::check(
        &state.provider_client,
        &provider.endpoint(),
        &check_id,
        &body.account,
        &body.extra,
        Kopecks::new(provider.min_amount),
    )
    .await;
    tracing::info!(agent = agent.id, provider = provider.id, account = %body.account, answer = %answer.describe(), "check");
    match answer {
        ProviderAnswer::Answered {
            result, message, ..
        } => Ok(Json(CheckAnswer {
            result,
            fatal: ResultCode::from_code(result).is_none_or(|r| r.is_final()) && result != 0,
            message,
        })),
        // wire.md: a check that got no answer it can count (unreachable, an untrusted
        // certificate, an answer to another request) is a 502 that says why.
        ProviderAnswer::NoAnswer(why) => Err(ApiError::ProviderUnavailable { detail: why }),
    }
}

async fn post_payment(
    State(state): State<ProcessingState>,
    Extension(LoggedIn(agent)): Extension<Requester>,
    JsonBody(body): JsonBody<PaymentRequest>,
) -> Result<Response, ApiError> {
    let validated = payment::validate(&state, &agent, body).await?;
    let claimed =
        payment::claim_and_reserve(&state.pool, agent.id, &validated, state.attempt_lease)
            .await
            .map_err(ApiError::internal)?;
    // The balance the answer carries: as the settlement left it when this request's
    // attempt settled the payment, otherwise as this request found it (a reservation or a
    // refusal moves `reserved`, never `balance`).
    let mut balance = Kopecks::new(agent.balance);
    let (status, row) = match claimed {
        Claimed::Conflict(existing) => {
            tracing::info!(agent = agent.id, agent_txn_id = %existing.agent_txn_id, "payment key reused with other data");
            return Err(ApiError::IdempotencyConflict);
        }
        Claimed::Repeat(existing) => (StatusCode::OK, existing),
        Claimed::New(row) if row.status == "pending" => {
            tracing::info!(agent = agent.id, payment_id = row.id, agent_txn_id = %row.agent_txn_id, amount = row.amount, fee = row.processing_fee, "payment reserved");
            let attempted = first_attempt(&state, row, validated.provider).await?;
            if let Some(settled) = attempted.agent_balance {
                balance = settled;
            }
            (StatusCode::CREATED, attempted.payment)
        }
        Claimed::New(row) => {
            tracing::info!(
                agent = agent.id,
                payment_id = row.id,
                "payment rejected: insufficient funds"
            );
            (StatusCode::CREATED, row)
        }
    };
    Ok((status, Json(row.state(balance))).into_response())
}

/// The payment's first attempt, waited for at most the answer budget. The attempt runs
/// as a task of its own and holds the payment's lease whatever happens to this request:
/// when the provider is slower than the budget (or the terminal hangs up), the terminal
/// is answered `pending` at once and the attempt goes on to settle the payment; if it
/// cannot, the retrier takes the payment once the lease runs out. No second `pay` is sent
/// beside it, so answering early changes nothing about exactly once.
async fn first_attempt(
    state: &ProcessingState,
    row: PaymentRow,
    provider: ProviderRow,
) -> Result<payment::Attempted, ApiError> {
    let attempt = tokio::spawn({
        let (state, row) = (state.clone(), row.clone());
        async move { payment::attempt(&state, &row, Some(provider)).await }
    });
    match tokio::time::timeout(state.answer_budget, attempt).await {
        Ok(Ok(settled)) => settled.map_err(ApiError::internal),
        Ok(Err(stopped)) => Err(ApiError::internal(stopped)),
        Err(_) => {
            tracing::info!(
                payment_id = row.id,
                budget_ms = state.answer_budget.as_millis(),
                "the provider is slower than the answer budget: answered pending, the attempt goes on"
            );
            Ok(payment::Attempted {
                payment: row,
                agent_balance: None,
            })
        }
    }
}

async fn get_payment(
    State(state): State<ProcessingState>,
    Extension(LoggedIn(agent)): Extension<Requester>,
    Path(agent_txn_id): Path<String>,
) -> Result<Response, ApiError> {
    let row = payment::payment_of_agent(&state.pool, agent.id, &agent_txn_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("payment {agent_txn_id}"),
        })?;
    Ok(Json(row.state(Kopecks::new(agent.balance))).into_response())
}

/// Refuses every request of a suspended agent with `403 agent_suspended`, before any
/// handler runs: one place, so no route of this API can forget it. The agent's row is read
/// on each request — with its login, or here — so a suspension (or a resumption) counts
/// at once, in every process; the handler gets the row as [`Requester`]. Only requests
/// count: the retrier settles the agent's pending payments regardless.
async fn refuse_suspended(
    State(state): State<ProcessingState>,
    Extension(principal): Extension<Principal>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<Response, ApiError> {
    let id = agent_id(&principal)?;
    let read_with_login = request
        .extensions()
        .get::<Requester>()
        .filter(|LoggedIn(agent)| agent.id == id)
        .map(|LoggedIn(agent)| agent.clone());
    let agent = match read_with_login {
        Some(agent) => agent,
        None => Arc::new(
            store::agent(&state.pool, id)
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::internal("agent contract missing"))?,
        ),
    };
    match agent.status() {
        AgentStatus::Active => {
            request.extensions_mut().insert(LoggedIn(agent));
            Ok(next.run(request).await)
        }
        AgentStatus::Suspended => {
            tracing::info!(agent = id, path = %request.uri().path(), "suspended agent refused");
            Err(ApiError::AgentSuspended)
        }
    }
}

pub fn router(state: ProcessingState) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/agent/v1/catalog", get(get_catalog))
        .route("/api/agent/v1/balance", get(get_balance))
        .route("/api/agent/v1/checks", post(post_check))
        .route("/api/agent/v1/payments", post(post_payment))
        .route("/api/agent/v1/payments/{agent_txn_id}", get(get_payment))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refuse_suspended,
        ))
        .with_state(state)
}
