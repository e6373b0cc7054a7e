//! The operator's API, `/api/admin/v1` (wire.md "Agent"): the contract with processing
//! (checked by fetching the balance before it is saved), status, sync now, payments, and
//! the agent's own fee for the public.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use shared::auth::Principal;
use shared::error::ApiError;
use shared::extract::JsonBody;
use shared::fee::FeeRule;

use super::AgentState;
use super::processing::{self, CallError, Contract};
use super::store;
use super::sync;

fn db(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

/// Checks the contract against processing (a balance request) and saves it only if
/// processing accepts it (audited with `by`); then syncs the catalog and balance at once.
pub async fn set_contract(
    state: &AgentState,
    contract: Contract,
    by: &str,
) -> Result<(), ApiError> {
    let mut fields = BTreeMap::new();
    let url = contract.processing_url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        fields.insert(
            "processing_url".to_owned(),
            "the api_url of the agent contract, http://…/api/agent/v1".to_owned(),
        );
    }
    for (name, value) in [
        ("contract_number", &contract.contract_number),
        ("login", &contract.login),
        ("password", &contract.password),
    ] {
        if value.trim().is_empty() {
            fields.insert(name.to_owned(), "required".to_owned());
        }
    }
    if !fields.is_empty() {
        return Err(ApiError::Validation { fields });
    }
    match processing::balance(&state.client, &contract).await {
        Ok(balance) => {
            store::save_contract(&state.pool, &contract, by)
                .await
                .map_err(db)?;
            sync::remember_balance(state, &balance).await;
            tracing::info!(contract_number = %contract.contract_number, url = %contract.processing_url, "contract with processing saved");
            let _ = sync::sync_catalog(state).await;
            Ok(())
        }
        Err(CallError::Unauthorized) => Err(ApiError::field(
            "password",
            "processing refused this login and password",
        )),
        Err(CallError::Refused { status, .. }) => Err(ApiError::field(
            "processing_url",
            format!("processing answered HTTP {status}"),
        )),
        Err(CallError::Suspended) => Err(ApiError::field(
            "contract_number",
            "processing has suspended this agent contract",
        )),
        Err(CallError::Unreachable(why)) => Err(ApiError::field(
            "processing_url",
            format!("processing did not answer: {why}"),
        )),
    }
}

async fn put_contract(
    State(state): State<AgentState>,
    Extension(principal): Extension<Principal>,
    JsonBody(contract): JsonBody<Contract>,
) -> Result<impl IntoResponse, ApiError> {
    set_contract(&state, contract, &principal.login).await?;
    Ok(Json(sync::status(&state).await.map_err(db)?))
}

async fn get_contract(State(state): State<AgentState>) -> Result<impl IntoResponse, ApiError> {
    let contract = store::contract(&state.pool)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFound {
            what: "contract".into(),
        })?;
    Ok(Json(serde_json::json!({
        "processing_url": contract.processing_url,
        "contract_number": contract.contract_number,
        "login": contract.login,
    })))
}

async fn get_status(State(state): State<AgentState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(sync::status(&state).await.map_err(db)?))
}

async fn post_sync(State(state): State<AgentState>) -> Result<impl IntoResponse, ApiError> {
    let catalog = sync::sync_catalog(&state).await.err();
    let balance = sync::sync_balance(&state).await.err();
    if let Some(error) = catalog.or(balance) {
        tracing::warn!(error, "sync now: not everything was refreshed");
    }
    Ok(Json(sync::status(&state).await.map_err(db)?))
}

/// `GET /payments?status=&before=&limit=`.
#[derive(Deserialize)]
struct PaymentFilter {
    status: Option<String>,
    /// Keyset paging: only payments older than this id (the last of the page before).
    before: Option<i64>,
    /// 1 to 500 (the default).
    limit: Option<i64>,
}

/// A page of payments, newest first, as a JSON array; when older ones follow, a `Link`
/// header names the next page (`before=` the last id), as the provider's subscriber list.
async fn list_payments(
    State(state): State<AgentState>,
    Query(filter): Query<PaymentFilter>,
) -> Result<impl IntoResponse, ApiError> {
    use crate::server::listing::{MAX_PAGE_ROWS, checked_limit, next_link};
    let status = filter.status.as_deref().filter(|s| !s.is_empty());
    let limit = checked_limit(filter.limit, MAX_PAGE_ROWS)?;
    // One more than a page: whether an older page exists, without counting them all.
    let mut rows = store::payments(&state.pool, status, filter.before, limit + 1)
        .await
        .map_err(db)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let mut headers = axum::http::HeaderMap::new();
    if let Some(last) = rows.last().filter(|_| more) {
        let params = [
            ("status", status.unwrap_or_default().to_owned()),
            ("before", last.id.to_string()),
            ("limit", limit.to_string()),
        ];
        if let Some(link) = next_link("/api/admin/v1/payments", &params) {
            headers.insert(axum::http::header::LINK, link);
        }
    }
    Ok((headers, Json(rows)))
}

/// Cash the validator stacked that is in no session (docs/agent.md "Unassigned cash").
async fn list_unassigned_cash(
    State(state): State<AgentState>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(super::cash::unassigned(&state.pool, 500).await?))
}

async fn get_fee(State(state): State<AgentState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(store::fee_rule(&state.pool).await.map_err(db)?))
}

async fn put_fee(
    State(state): State<AgentState>,
    Extension(principal): Extension<Principal>,
    JsonBody(rule): JsonBody<FeeRule>,
) -> Result<impl IntoResponse, ApiError> {
    rule.validate()
        .map_err(|e| ApiError::field(e.field(), e.to_string()))?;
    store::set_fee_rule(&state.pool, &rule, &principal.login)
        .await
        .map_err(db)?;
    tracing::info!(?rule, by = %principal.login, "agent fee changed");
    Ok(Json(rule))
}

pub fn router(state: AgentState) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/api/admin/v1/contract",
            get(get_contract).put(put_contract),
        )
        .route("/api/admin/v1/status", get(get_status))
        .route("/api/admin/v1/sync", post(post_sync))
        .route("/api/admin/v1/payments", get(list_payments))
        .route("/api/admin/v1/fee", get(get_fee).put(put_fee))
        .route("/api/admin/v1/unassigned-cash", get(list_unassigned_cash))
        .with_state(state)
}
