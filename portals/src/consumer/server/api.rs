//! `/api/admin/v1/contracts`: the subscriber's contracts, and the use of their services.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::error::ApiError;
use shared::extract::JsonBody;
use shared::money::Money;
use shared::outbound;
use shared::wire::provider::USAGE_PROTOCOL;

use super::ConsumerState;
use super::contracts_file::{self, Contract, MAX_USES_PER_CONTRACT, Use};
use crate::consumer::server_types::ContractView;
use crate::server::clock;

/// A contract as pasted or typed: what the provider issued plus its name.
#[derive(Debug, Clone, Deserialize)]
pub struct ContractInput {
    pub provider_name: String,
    #[serde(default)]
    pub subscriber_id: i64,
    pub account: String,
    pub usage_url: String,
    #[serde(default = "usage_protocol")]
    pub protocol: String,
    pub login: String,
    /// Required when adding; on `PUT` an absent or empty password keeps the stored one
    /// (the API never sends it back, so a client cannot resend it).
    #[serde(default)]
    pub password: String,
    pub services: Vec<String>,
}

fn usage_protocol() -> String {
    USAGE_PROTOCOL.to_owned()
}

/// Checks a contract, naming every bad field.
pub fn validate(input: &ContractInput) -> Result<(), ApiError> {
    let mut fields = std::collections::BTreeMap::new();
    let mut bad = |f: &str, why: &str| {
        fields.insert(f.to_owned(), why.to_owned());
    };
    if input.provider_name.trim().is_empty() {
        bad("provider_name", "the provider's name, e.g. Megafon");
    }
    if input.account.trim().is_empty() {
        bad("account", "the account the provider issued");
    }
    let url = input.usage_url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bad(
            "usage_url",
            "the usage_url the provider issued, http://…/api/usage/v1/usage",
        );
    }
    if input.protocol != USAGE_PROTOCOL {
        bad("protocol", "paymesh-usage/1");
    }
    if input.login.is_empty() || input.password.is_empty() {
        bad("login", "the login and password the provider issued");
    }
    if input.services.is_empty()
        || input
            .services
            .iter()
            .any(|s| !["call", "internet", "sms"].contains(&s.as_str()))
    {
        bad("services", "call, internet and/or sms");
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation { fields })
    }
}

fn save_error(e: std::io::Error) -> ApiError {
    ApiError::internal(format!("cannot write the contracts file: {e}"))
}

/// Adds a contract (the file is written before the answer).
pub async fn add(state: &ConsumerState, input: ContractInput) -> Result<Contract, ApiError> {
    validate(&input)?;
    let mut contracts = state.contracts.lock().await;
    let mut next = contracts.clone();
    let contract = Contract {
        id: next.next_id.max(1),
        provider_name: input.provider_name.trim().to_owned(),
        subscriber_id: input.subscriber_id,
        account: input.account.trim().to_owned(),
        usage_url: input.usage_url.trim().to_owned(),
        protocol: input.protocol,
        login: input.login,
        password: input.password,
        services: input.services,
        uses: Vec::new(),
        subscriber_name: None,
    };
    next.next_id = contract.id + 1;
    next.contracts.push(contract.clone());
    contracts_file::save(&state.dir, &next).map_err(save_error)?;
    *contracts = next;
    tracing::info!(id = contract.id, provider = %contract.provider_name, account = %contract.account, "contract added");
    Ok(contract)
}

async fn list(State(state): State<ConsumerState>) -> impl IntoResponse {
    let contracts = state.contracts.lock().await;
    Json(
        contracts
            .contracts
            .iter()
            .map(ContractView::from)
            .collect::<Vec<_>>(),
    )
}

async fn post_contract(
    State(state): State<ConsumerState>,
    JsonBody(input): JsonBody<ContractInput>,
) -> Result<impl IntoResponse, ApiError> {
    let contract = add(&state, input).await?;
    Ok((StatusCode::CREATED, Json(ContractView::from(&contract))))
}

async fn get_contract(
    State(state): State<ConsumerState>,
    Path(id): Path<u64>,
) -> Result<impl IntoResponse, ApiError> {
    let contracts = state.contracts.lock().await;
    let contract = contracts
        .contracts
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound {
            what: format!("contract {id}"),
        })?;
    Ok(Json(ContractView::from(&contract)))
}

/// Replaces a contract's details (its history stays).
pub async fn update(
    state: &ConsumerState,
    id: u64,
    mut input: ContractInput,
) -> Result<Contract, ApiError> {
    let mut contracts = state.contracts.lock().await;
    let mut next = contracts.clone();
    let contract = next
        .contracts
        .iter_mut()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::NotFound {
            what: format!("contract {id}"),
        })?;
    if input.password.is_empty() {
        input.password = contract.password.clone();
    }
    validate(&input)?;
    contract.provider_name = input.provider_name.trim().to_owned();
    contract.subscriber_id = input.subscriber_id;
    contract.account = input.account.trim().to_owned();
    contract.usage_url = input.usage_url.trim().to_owned();
    contract.protocol = input.protocol;
    contract.login = input.login;
    contract.password = input.password;
    contract.services = input.services;
    let changed = contract.clone();
    contracts_file::save(&state.dir, &next).map_err(save_error)?;
    *contracts = next;
    tracing::info!(id, "contract changed");
    Ok(changed)
}

async fn put_contract(
    State(state): State<ConsumerState>,
    Path(id): Path<u64>,
    JsonBody(input): JsonBody<ContractInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(ContractView::from(&update(&state, id, input).await?)))
}

async fn delete_contract(
    State(state): State<ConsumerState>,
    Path(id): Path<u64>,
) -> Result<impl IntoResponse, ApiError> {
    let mut contracts = state.contracts.lock().await;
    let mut next = contracts.clone();
    let before = next.contracts.len();
    next.contracts.retain(|c| c.id != id);
    if next.contracts.len() == before {
        return Err(ApiError::NotFound {
            what: format!("contract {id}"),
        });
    }
    contracts_file::save(&state.dir, &next).map_err(save_error)?;
    *contracts = next;
    tracing::info!(id, "contract deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct UseRequest {
    pub service: String,
    pub quantity: i64,
}

/// The largest usage answer read from a provider (a real one is a few hundred bytes).
const USAGE_ANSWER_MAX_BYTES: usize = 64 * 1024;

/// Uses a service: POSTs to the provider's usage URL with the contract's credentials and
/// passes the provider's status and body through (a 402 stays a 402), remembering the use.
pub async fn use_service(
    state: &ConsumerState,
    id: u64,
    request: &UseRequest,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    let contract = {
        let contracts = state.contracts.lock().await;
        contracts
            .contracts
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| ApiError::NotFound {
                what: format!("contract {id}"),
            })?
    };
    let response = state
        .client
        .post(&contract.usage_url)
        .basic_auth(&contract.login, Some(&contract.password))
        .json(request)
        .send()
        .await
        .map_err(|e| {
            let why = outbound::describe_error(&e);
            tracing::warn!(id, provider = %contract.provider_name, error = %why, "provider unreachable");
            ApiError::ProviderUnavailable { detail: format!("{} did not answer: {why}", contract.provider_name) }
        })?;
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = outbound::read_capped(response, USAGE_ANSWER_MAX_BYTES)
        .await
        .map_err(|e| {
            tracing::warn!(id, provider = %contract.provider_name, error = %e, "unreadable usage answer");
            ApiError::ProviderUnavailable {
                detail: format!("{} did not answer: {e}", contract.provider_name),
            }
        })?;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let money = |field: &str| serde_json::from_value::<Money>(body[field].clone()).ok();
    let record = Use {
        at: clock::now_text(),
        service: request.service.clone(),
        quantity: request.quantity,
        status: status.as_u16(),
        charged: money("charged"),
        balance: money("balance"),
        refusal: body["error"]["message"].as_str().map(str::to_owned),
    };
    tracing::info!(id, provider = %contract.provider_name, service = %request.service, quantity = request.quantity, status = status.as_u16(), "service used");
    let mut contracts = state.contracts.lock().await;
    let mut next = contracts.clone();
    if let Some(c) = next.contracts.iter_mut().find(|c| c.id == id) {
        c.uses.push(record);
        let excess = c.uses.len().saturating_sub(MAX_USES_PER_CONTRACT);
        c.uses.drain(..excess);
        contracts_file::save(&state.dir, &next).map_err(save_error)?;
        *contracts = next;
    }
    Ok((status, body))
}

async fn post_use(
    State(state): State<ConsumerState>,
    Path(id): Path<u64>,
    JsonBody(request): JsonBody<UseRequest>,
) -> Result<Response, ApiError> {
    let (status, body) = use_service(&state, id, &request).await?;
    Ok((status, Json(body)).into_response())
}

pub fn router(state: ConsumerState) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/admin/v1/contracts", get(list).post(post_contract))
        .route(
            "/api/admin/v1/contracts/{id}",
            get(get_contract).put(put_contract).delete(delete_contract),
        )
        .route("/api/admin/v1/contracts/{id}/use", post(post_use))
        .with_state(state)
}
