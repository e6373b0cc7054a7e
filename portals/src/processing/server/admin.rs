//! The operator's API, `/api/admin/v1` (wire.md "Processing"): provider and agent
//! contracts, top-ups, payments, the ledger and its check.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::error::ApiError;
use shared::extract::JsonBody;
use shared::fee::FeeRule;
use shared::fields::FieldSet;
use shared::money::{Kopecks, Money};
use shared::wire::agent::{AGENT_PROTOCOL, Field};
use shared::wire::provider::PaymentProtocol;

use super::ProcessingState;
use super::connectors::{self, ProviderAnswer};
use super::contract_audit::{
    self as shown, Balance, NewProvider, ProviderAccess, ProviderTerms, Switch, ToppedUp,
    agent_object, provider_object,
};
use super::ledger::{self, agent_account, provider_account};
use super::lists;
use super::payment::{self, PaymentFilter};
use super::store::{self, AgentRow, ProviderView};
pub use crate::processing::model::{
    AgentStatus, AgentView, ConnectionTest, IssuedAgent, RotatedCredential,
};
use crate::server::audit::{self, AuditKind, Change, Secret};
use crate::server::clock::{self, Stamp};
use crate::server::credentials::new_credential;
use crate::server::db;

/// Rows a list answers at most.
pub const MAX_LIST_ROWS: i64 = 500;

fn db(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

/// `POST /providers` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ProviderContract {
    pub name: String,
    pub service_kind: String,
    pub endpoint_url: String,
    pub protocol: String,
    pub login: String,
    pub password: String,
    pub fields: Vec<Field>,
    pub min_amount: Kopecks,
    pub max_amount: Kopecks,
}

/// Checks a provider contract, naming every bad field.
pub fn validate_provider(body: &ProviderContract) -> Result<(), ApiError> {
    let mut refusals = BTreeMap::new();
    let mut bad = |field: &str, why: &str| {
        refusals.insert(field.to_owned(), why.to_owned());
    };
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        bad("name", "give the provider's name (100 characters at most)");
    }
    if body.service_kind.trim().is_empty() || body.service_kind.chars().count() > 40 {
        bad(
            "service_kind",
            "give the kind of service, e.g. mobile or internet",
        );
    }
    let url = body.endpoint_url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.contains(char::is_whitespace)
        || url.len() > 500
    {
        bad("endpoint_url", "an http:// or https:// URL");
    }
    if PaymentProtocol::parse(&body.protocol).is_none() {
        bad("protocol", "the protocol is osmp or json");
    }
    if body.login.is_empty() || body.login.contains(':') || body.login.len() > 200 {
        bad("login", "the login the provider issued (no colon)");
    }
    if body.password.is_empty() || body.password.len() > 200 {
        bad("password", "the password the provider issued");
    }
    if !body.min_amount.is_positive() {
        bad("min_amount", "a positive number of kopecks");
    }
    if body.max_amount < body.min_amount {
        bad("max_amount", "must not be below min_amount");
    }
    if !body.max_amount.is_acceptable_input() {
        bad("max_amount", &format!("at most {} RUB", Kopecks::MAX_INPUT));
    }
    // The same rules as the provider's (shared::fields): `account` first, names, regexes
    // compiled whole within bounds, options that match; keyed `fields.<name>`.
    if let Err(refused) = FieldSet::compile(&body.fields) {
        refusals.extend(refused);
    }
    refusals.extend(shared::wire::osmp::reserved_field_names(&body.fields));
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation { fields: refusals })
    }
}

/// Signs a provider contract; `by` (the operator's login) is recorded with it.
pub async fn create_provider(
    state: &ProcessingState,
    body: &ProviderContract,
    by: &str,
) -> Result<ProviderView, ApiError> {
    validate_provider(body)?;
    let now = clock::now();
    let fields = serde_json::to_string(&body.fields).map_err(ApiError::internal)?;
    let mut tx = state.pool.begin().await.map_err(db)?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO providers (name, service_kind, endpoint_url, protocol, login, password, fields, min_amount, max_amount, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(body.name.trim())
    .bind(body.service_kind.trim())
    .bind(body.endpoint_url.trim())
    .bind(&body.protocol)
    .bind(&body.login)
    .bind(&body.password)
    .bind(fields)
    .bind(body.min_amount.get())
    .bind(body.max_amount.get())
    .bind(now)
    .fetch_one(&mut tx)
    .await
    .map_err(db)?;
    ledger::open_account(&mut tx, &provider_account(id), "provider", id)
        .await
        .map_err(db)?;
    let signed = NewProvider {
        terms: ProviderTerms::new(
            &body.name,
            &body.service_kind,
            &body.protocol,
            body.fields.clone(),
            (body.min_amount, body.max_amount),
        ),
        access: ProviderAccess {
            endpoint_url: body.endpoint_url.trim().to_owned(),
            login: body.login.clone(),
            password: Some(Secret::Issued),
        },
        active: true,
    };
    audit::record(
        &mut tx,
        Change::new(by, AuditKind::ContractCreated, provider_object(id)).after(&signed),
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(provider = id, name = %body.name, protocol = %body.protocol, by, "provider contract signed");
    let row = store::provider(&state.pool, id)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::internal("provider vanished"))?;
    Ok(row.view())
}

async fn post_provider(
    State(state): State<ProcessingState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<ProviderContract>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(create_provider(&state, &body, &principal.login).await?),
    ))
}

/// `GET /providers?sort=id|name|kind&dir=asc|desc`.
async fn list_providers(
    State(state): State<ProcessingState>,
    Query(order): Query<lists::ListOrder>,
) -> Result<impl IntoResponse, ApiError> {
    let order = order.checked()?;
    Ok(Json(lists::providers(&state, order).await.map_err(db)?))
}

async fn provider_or_404(state: &ProcessingState, id: i64) -> Result<store::ProviderRow, ApiError> {
    store::provider(&state.pool, id)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("provider {id}"),
        })
}

/// `PATCH /providers/{id}`: any field of the contract, and `active`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderChanges {
    pub name: Option<String>,
    pub service_kind: Option<String>,
    pub endpoint_url: Option<String>,
    pub protocol: Option<String>,
    pub login: Option<String>,
    pub password: Option<String>,
    pub fields: Option<Vec<Field>>,
    pub min_amount: Option<Kopecks>,
    pub max_amount: Option<Kopecks>,
    pub active: Option<bool>,
}

/// Changes a provider contract: any of its terms, where it is reached and with which
/// credentials, and whether it takes payments. One transaction with an audit entry per
/// part that changed — terms (`contract_changed`), endpoint and credentials
/// (`credentials_changed`, the password only as changed), the switch
/// (`contract_suspended` / `contract_resumed`) — each naming `by`.
pub async fn change_provider(
    state: &ProcessingState,
    id: i64,
    changes: ProviderChanges,
    by: &str,
) -> Result<ProviderView, ApiError> {
    let current = provider_or_404(state, id).await?;
    let merged = ProviderContract {
        name: changes.name.unwrap_or(current.name.clone()),
        service_kind: changes.service_kind.unwrap_or(current.service_kind.clone()),
        endpoint_url: changes.endpoint_url.unwrap_or(current.endpoint_url.clone()),
        protocol: changes
            .protocol
            .unwrap_or_else(|| current.protocol.as_str().to_owned()),
        login: changes.login.unwrap_or(current.login.clone()),
        password: changes.password.unwrap_or(current.password.clone()),
        fields: changes.fields.unwrap_or_else(|| current.fields()),
        min_amount: changes
            .min_amount
            .unwrap_or(Kopecks::new(current.min_amount)),
        max_amount: changes
            .max_amount
            .unwrap_or(Kopecks::new(current.max_amount)),
    };
    let active = changes.active.unwrap_or(current.active);
    validate_provider(&merged)?;
    let fields = serde_json::to_string(&merged.fields).map_err(ApiError::internal)?;
    let mut tx = state.pool.begin().await.map_err(db)?;
    // The row as this transaction sees it: the entries' "before" is what was replaced.
    let current = store::provider(&mut tx, id)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("provider {id}"),
        })?;
    db::query(
        "UPDATE providers SET name = $1, service_kind = $2, endpoint_url = $3, protocol = $4, login = $5, password = $6,
                fields = $7, min_amount = $8, max_amount = $9, active = $10, updated_at = $11 WHERE id = $12",
    )
    .bind(merged.name.trim())
    .bind(merged.service_kind.trim())
    .bind(merged.endpoint_url.trim())
    .bind(&merged.protocol)
    .bind(&merged.login)
    .bind(&merged.password)
    .bind(fields)
    .bind(merged.min_amount.get())
    .bind(merged.max_amount.get())
    .bind(active)
    .bind(clock::now())
    .bind(id)
    .execute(&mut tx)
    .await
    .map_err(db)?;
    let object = provider_object(id);
    let terms = (
        ProviderTerms::of(&current),
        ProviderTerms::new(
            &merged.name,
            &merged.service_kind,
            &merged.protocol,
            merged.fields.clone(),
            (merged.min_amount, merged.max_amount),
        ),
    );
    if terms.0 != terms.1 {
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::ContractChanged, object.clone())
                .before(&terms.0)
                .after(&terms.1),
        )
        .await
        .map_err(db)?;
    }
    let access_before = ProviderAccess::of(&current);
    let password_changed = merged.password != current.password;
    let access_after = ProviderAccess {
        endpoint_url: merged.endpoint_url.trim().to_owned(),
        login: merged.login.clone(),
        password: Some(Secret::changed(password_changed)),
    };
    if password_changed
        || access_before.endpoint_url != access_after.endpoint_url
        || access_before.login != access_after.login
    {
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::CredentialsChanged, object.clone())
                .before(&access_before)
                .after(&access_after),
        )
        .await
        .map_err(db)?;
    }
    record_switch(&mut tx, id, current.active, active, by)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(provider = id, by, "provider contract changed");
    Ok(provider_or_404(state, id).await?.view())
}

/// The entry of a provider switched on or off (nothing when it stays as it was).
async fn record_switch(
    tx: &mut db::Tx,
    id: i64,
    was: bool,
    now: bool,
    by: &str,
) -> Result<(), sqlx::Error> {
    if was == now {
        return Ok(());
    }
    let kind = if now {
        AuditKind::ContractResumed
    } else {
        AuditKind::ContractSuspended
    };
    audit::record(
        tx,
        Change::new(by, kind, provider_object(id))
            .before(&Switch { active: was })
            .after(&Switch { active: now }),
    )
    .await
}

async fn patch_provider(
    State(state): State<ProcessingState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
    JsonBody(changes): JsonBody<ProviderChanges>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        change_provider(&state, id, changes, &principal.login).await?,
    ))
}

/// Switches a provider on or off, audited with `by`.
pub async fn switch_provider(
    state: &ProcessingState,
    id: i64,
    active: bool,
    by: &str,
) -> Result<ProviderView, ApiError> {
    let mut tx = state.pool.begin().await.map_err(db)?;
    let was = store::set_provider_active(&mut tx, id, active)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("provider {id}"),
        })?;
    record_switch(&mut tx, id, was, active, by)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(provider = id, active, by, "provider switched");
    Ok(provider_or_404(state, id).await?.view())
}

async fn delete_provider(
    State(state): State<ProcessingState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        switch_provider(&state, id, false, &principal.login).await?,
    ))
}

/// The extra fields a connection test sends: each field's first option, where it has a
/// list, so that a provider that needs a city is asked a question it can answer. A field
/// without options is left out, and the provider's answer (4) says so.
fn sample_extra(fields: &[Field]) -> shared::wire::agent::Extra {
    fields
        .iter()
        .filter(|f| f.name != shared::fields::ACCOUNT)
        .filter_map(|f| Some((f.name.clone(), f.options.first()?.clone())))
        .collect()
}

pub async fn test_provider(
    state: &ProcessingState,
    id: i64,
    account: &str,
) -> Result<ConnectionTest, ApiError> {
    let provider = provider_or_404(state, id).await?;
    let check_id = format!(
        "{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000
    );
    let answer = connectors::check(
        &state.provider_client,
        &provider.endpoint(),
        &check_id,
        account,
        &sample_extra(&provider.fields()),
        Kopecks::new(provider.min_amount),
    )
    .await;
    tracing::info!(provider = id, answer = %answer.describe(), "test connection");
    Ok(ConnectionTest {
        reached: matches!(answer, ProviderAnswer::Answered { .. }),
        result: match &answer {
            ProviderAnswer::Answered { result, .. } => Some(*result),
            ProviderAnswer::NoAnswer(_) => None,
        },
        answer: answer.describe(),
    })
}

#[derive(Deserialize, Default)]
struct TestBody {
    account: Option<String>,
}

async fn post_test(
    State(state): State<ProcessingState>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    // The body is optional: `{"account": "…"}` picks the account the check asks about.
    let body: TestBody = if body.is_empty() {
        TestBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::field("body", e.to_string()))?
    };
    let account = body.account.unwrap_or_else(|| "0".to_owned());
    Ok(Json(test_provider(&state, id, &account).await?))
}

/// `POST /agents` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AgentContract {
    pub name: String,
    #[serde(default)]
    pub fee: FeeRule,
}

/// Signs an agent contract; `by` (the operator's login) is recorded with it.
pub async fn create_agent(
    state: &ProcessingState,
    body: &AgentContract,
    by: &str,
) -> Result<IssuedAgent, ApiError> {
    let mut fields = BTreeMap::new();
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        fields.insert(
            "name".to_owned(),
            "give the agent's name (100 characters at most)".to_owned(),
        );
    }
    if let Err(e) = body.fee.validate() {
        fields.insert(format!("fee.{}", e.field()), e.to_string());
    }
    if !fields.is_empty() {
        return Err(ApiError::Validation { fields });
    }
    let credential = new_credential().await.map_err(ApiError::internal)?;
    let mut tx = state.pool.begin().await.map_err(db)?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO agents (name, contract_number, login, fee_percent_bp, fee_fixed, fee_min, fee_max, created_at)
         VALUES ($1, $7, $7, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(body.name.trim())
    .bind(i64::from(body.fee.percent_bp))
    .bind(body.fee.fixed.get())
    .bind(body.fee.min.get())
    .bind(body.fee.max.map(Kopecks::get))
    .bind(clock::now())
    // The contract number and login derive from the id, known only after the insert: a
    // placeholder unique to this transaction holds their place (portable SQL, no randomblob).
    .bind(format!("pending-{}", shared::auth::generate_password()))
    .fetch_one(&mut tx)
    .await
    .map_err(db)?;
    let contract_number = format!("AG-{id:06}");
    let login = format!("agent-{id}");
    db::query("UPDATE agents SET contract_number = $1, login = $2 WHERE id = $3")
        .bind(&contract_number)
        .bind(&login)
        .bind(id)
        .execute(&mut tx)
        .await
        .map_err(db)?;
    ledger::open_account(&mut tx, &agent_account(id), "agent", id)
        .await
        .map_err(db)?;
    state
        .agent_logins
        .store(&mut tx, &login, &id.to_string(), &credential)
        .await
        .map_err(db)?;
    audit::record(
        &mut tx,
        Change::new(by, AuditKind::ContractCreated, agent_object(id)).after(&serde_json::json!({
            "name": body.name.trim(),
            "contract_number": contract_number,
            "login": login,
            "password": Secret::Issued,
            "fee": shown::Fee::from(&body.fee),
            "status": AgentStatus::Active.as_str(),
        })),
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(agent = id, contract_number, by, "agent contract signed");
    Ok(IssuedAgent {
        agent_id: id,
        contract_number,
        api_url: format!("{}/api/agent/v1", state.base_url),
        protocol: AGENT_PROTOCOL.to_owned(),
        login,
        password: credential.password,
        fee: body.fee,
        balance: Money::rub(Kopecks::ZERO),
    })
}

async fn post_agent(
    State(state): State<ProcessingState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<AgentContract>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(create_agent(&state, &body, &principal.login).await?),
    ))
}

impl From<&AgentRow> for AgentView {
    fn from(a: &AgentRow) -> Self {
        AgentView {
            agent_id: a.id,
            name: a.name.clone(),
            contract_number: a.contract_number.clone(),
            login: a.login.clone(),
            fee: a.fee_rule(),
            balance: Money::rub(Kopecks::new(a.balance)),
            reserved: Money::rub(Kopecks::new(a.reserved)),
            available: Money::rub(a.available()),
            status: a.status(),
            active: a.status() == AgentStatus::Active,
            created_at: a.created_at.clone(),
        }
    }
}

/// `GET /agents?sort=id|name|balance|available&dir=asc|desc`.
async fn list_agents(
    State(state): State<ProcessingState>,
    Query(order): Query<lists::ListOrder>,
) -> Result<impl IntoResponse, ApiError> {
    let order = order.checked()?;
    Ok(Json(lists::agents(&state, order).await.map_err(db)?))
}

async fn agent_or_404(state: &ProcessingState, id: i64) -> Result<AgentRow, ApiError> {
    store::agent(&state.pool, id)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("agent {id}"),
        })
}

async fn get_agent(
    State(state): State<ProcessingState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(AgentView::from(&agent_or_404(&state, id).await?)))
}

/// `PATCH /agents/{id}` body: the status and/or the fee rule; at least one of them. The
/// store applies the same value.
pub use super::store::AgentChanges;

/// Suspends, resumes and/or re-prices an agent contract. `by` is who asked (the
/// operator's login); a change of status is logged with it.
pub async fn change_agent(
    state: &ProcessingState,
    id: i64,
    changes: &AgentChanges,
    by: &str,
) -> Result<AgentView, ApiError> {
    if changes.status.is_none() && changes.fee.is_none() {
        return Err(ApiError::field("status", "give a status and/or a fee"));
    }
    if let Some(fee) = &changes.fee {
        fee.validate()
            .map_err(|e| ApiError::field(&format!("fee.{}", e.field()), e.to_string()))?;
    }
    let Some(before) = store::change_agent(&state.pool, id, changes, by)
        .await
        .map_err(db)?
    else {
        return Err(ApiError::NotFound {
            what: format!("agent {id}"),
        });
    };
    if let Some(status) = changes.status
        && status != before.status()
    {
        tracing::warn!(agent = id, contract_number = %before.contract_number, from = before.status().as_str(), to = status.as_str(), by, "agent status changed");
    }
    if let Some(fee) = &changes.fee {
        tracing::info!(agent = id, ?fee, by, "agent fee changed");
    }
    Ok(AgentView::from(&agent_or_404(state, id).await?))
}

async fn patch_agent(
    State(state): State<ProcessingState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
    JsonBody(changes): JsonBody<AgentChanges>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        change_agent(&state, id, &changes, &principal.login).await?,
    ))
}

/// Gives an agent a new password, returned once; the old one stops working at once, in
/// every process (each reads the stored hash on every request; see `DbCredentials`).
pub async fn rotate_agent_password(
    state: &ProcessingState,
    id: i64,
    by: &str,
) -> Result<RotatedCredential, ApiError> {
    let agent = agent_or_404(state, id).await?;
    let credential = new_credential().await.map_err(ApiError::internal)?;
    let mut tx = state.pool.begin().await.map_err(db)?;
    if !state
        .agent_logins
        .rotate(&mut tx, &agent.login, &credential)
        .await
        .map_err(db)?
    {
        return Err(ApiError::NotFound {
            what: format!("a login of agent {id}"),
        });
    }
    audit::record(
        &mut tx,
        Change::new(by, AuditKind::CredentialsRotated, agent_object(id))
            .after(&serde_json::json!({"login": agent.login, "password": Secret::Changed})),
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::warn!(agent = id, login = %agent.login, by, "agent password replaced");
    Ok(RotatedCredential {
        login: agent.login,
        password: credential.password,
    })
}

async fn post_agent_credentials(
    State(state): State<ProcessingState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(rotate_agent_password(&state, id, &principal.login).await?),
    ))
}

/// `POST /agents/{id}/topups` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Topup {
    pub amount: Kopecks,
    pub reference: String,
}

/// Tops an agent up once per reference: a repeat changes nothing and answers the balance;
/// the same reference with another amount is a conflict.
/// Tops up as `by`: a new top-up is recorded in the audit log with the balance before
/// and after, in the transaction that posts it; a repeat records nothing.
pub async fn top_up(
    state: &ProcessingState,
    agent_id: i64,
    topup: &Topup,
    by: &str,
) -> Result<Kopecks, ApiError> {
    let reference = topup.reference.trim();
    let mut fields = BTreeMap::new();
    if !topup.amount.is_positive() || !topup.amount.is_acceptable_input() {
        fields.insert(
            "amount".to_owned(),
            format!(
                "a positive number of kopecks, at most {} RUB",
                Kopecks::MAX_INPUT
            ),
        );
    }
    if reference.is_empty() || reference.len() > 100 {
        fields.insert(
            "reference".to_owned(),
            "the payment order's reference (1 to 100 characters)".to_owned(),
        );
    }
    if !fields.is_empty() {
        return Err(ApiError::Validation { fields });
    }
    agent_or_404(state, agent_id).await?;
    let mut tx = state.pool.begin().await.map_err(db)?;
    let inserted: Option<(i64,)> = db::query_as(
        "INSERT INTO topups (agent_id, reference, amount, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (agent_id, reference) DO NOTHING RETURNING id",
    )
    .bind(agent_id)
    .bind(reference)
    .bind(topup.amount.get())
    .bind(clock::now())
    .fetch_optional(&mut tx)
    .await
    .map_err(db)?;
    if inserted.is_some() {
        let account = agent_account(agent_id);
        let before = store::agent(&mut tx, agent_id)
            .await
            .map_err(db)?
            .map_or(0, |a| a.balance);
        ledger::post(
            &mut tx,
            "topup",
            &format!("{agent_id}:{reference}"),
            &[
                (account.as_str(), topup.amount.get()),
                (ledger::TOPUPS, -topup.amount.get()),
            ],
        )
        .await
        .map_err(db)?;
        let after = store::agent(&mut tx, agent_id)
            .await
            .map_err(db)?
            .map_or(0, |a| a.balance);
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::BalanceTopUp, agent_object(agent_id))
                .before(&Balance {
                    balance: Kopecks::new(before).to_string(),
                })
                .after(&ToppedUp {
                    balance: Kopecks::new(after).to_string(),
                    amount: topup.amount.to_string(),
                    reference: reference.to_owned(),
                }),
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        tracing::info!(agent = agent_id, reference, amount = %topup.amount, by, "agent topped up");
    } else {
        // Read in the transaction that found it: the first top-up may not be committed
        // yet (it can share this one's group commit); the rollback returns once it is.
        let (amount,): (i64,) =
            db::query_as("SELECT amount FROM topups WHERE agent_id = $1 AND reference = $2")
                .bind(agent_id)
                .bind(reference)
                .fetch_one(&mut tx)
                .await
                .map_err(db)?;
        tx.rollback().await.map_err(db)?;
        if amount != topup.amount.get() {
            return Err(ApiError::IdempotencyConflict);
        }
        tracing::info!(agent = agent_id, reference, "repeated top-up ignored");
    }
    Ok(Kopecks::new(agent_or_404(state, agent_id).await?.balance))
}

async fn post_topup(
    State(state): State<ProcessingState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Topup>,
) -> Result<impl IntoResponse, ApiError> {
    let balance = top_up(&state, id, &body, &principal.login).await?;
    Ok(Json(serde_json::json!({"balance": Money::rub(balance)})))
}

/// The filter's status and dates checked; the time bounds it stands for, the dates being
/// days local to processing's zone (`--time-zone`), as in the reports.
pub(super) fn checked_filter(
    zone: &shared::zone::Zone,
    filter: &PaymentFilter,
) -> Result<(Stamp, Stamp), ApiError> {
    if let Some(status) = filter.status.as_deref().filter(|s| !s.is_empty())
        && !["pending", "completed", "failed", "rejected"].contains(&status)
    {
        return Err(ApiError::field(
            "status",
            "pending, completed, failed or rejected",
        ));
    }
    if filter
        .limit
        .is_some_and(|l| !(1..=MAX_LIST_ROWS).contains(&l))
    {
        return Err(ApiError::field(
            "limit",
            format!("1 to {MAX_LIST_ROWS} rows"),
        ));
    }
    clock::filter_bounds_in(zone, filter.from.as_deref(), filter.to.as_deref())
        .map_err(|field| ApiError::field(field, "a date is YYYY-MM-DD"))
}

async fn list_payments(
    State(state): State<ProcessingState>,
    Query(filter): Query<PaymentFilter>,
) -> Result<impl IntoResponse, ApiError> {
    let bounds = checked_filter(&state.zone, &filter)?;
    let limit = filter.limit.unwrap_or(MAX_LIST_ROWS);
    Ok(Json(
        payment::payments(&state.pool, &filter, bounds, limit)
            .await
            .map_err(db)?,
    ))
}

/// The most rows one export holds: a year of a busy terminal network is more than an
/// operator opens in a spreadsheet, and the answer is built in memory.
pub const EXPORT_MAX_ROWS: usize = 100_000;

/// `GET /api/admin/v1/payments.csv?<the list's filter>`: every payment the filter
/// selects (from `before` on, newest first, at most [`EXPORT_MAX_ROWS`]), as CSV cells a
/// spreadsheet reads as text (`server::csv`).
async fn export_payments(
    State(state): State<ProcessingState>,
    Query(mut filter): Query<PaymentFilter>,
) -> Result<impl IntoResponse, ApiError> {
    let bounds = checked_filter(&state.zone, &filter)?;
    let mut out = payment::export_header();
    let mut written = 0;
    while written < EXPORT_MAX_ROWS {
        let page = payment::payments(&state.pool, &filter, bounds, MAX_LIST_ROWS)
            .await
            .map_err(db)?;
        for row in &page {
            out.push_str(&payment::export_line(row));
        }
        written += page.len();
        match page.last() {
            Some(last) if page.len() as i64 == MAX_LIST_ROWS => filter.before = Some(last.id),
            _ => break,
        }
    }
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"payments.csv\"",
            ),
        ],
        out,
    ))
}

async fn get_ledger(State(state): State<ProcessingState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(ledger::accounts(&state.pool).await.map_err(db)?))
}

async fn verify_ledger(
    State(state): State<ProcessingState>,
) -> Result<impl IntoResponse, ApiError> {
    let verification = ledger::verify(&state.pool).await.map_err(db)?;
    if !verification.ok {
        tracing::error!(?verification, "ledger check failed");
    }
    Ok(Json(verification))
}

pub fn router(state: ProcessingState) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/api/admin/v1/providers",
            get(list_providers).post(post_provider),
        )
        .route(
            "/api/admin/v1/providers/{id}",
            axum::routing::patch(patch_provider).delete(delete_provider),
        )
        .route("/api/admin/v1/providers/{id}/test", post(post_test))
        .route("/api/admin/v1/agents", get(list_agents).post(post_agent))
        .route(
            "/api/admin/v1/agents/{id}",
            get(get_agent).patch(patch_agent),
        )
        .route(
            "/api/admin/v1/agents/{id}/credentials",
            post(post_agent_credentials),
        )
        .route("/api/admin/v1/agents/{id}/topups", post(post_topup))
        .route("/api/admin/v1/payments", get(list_payments))
        .route("/api/admin/v1/payments.csv", get(export_payments))
        .route(
            "/api/admin/v1/payments.xlsx",
            get(lists::export_payments_xlsx),
        )
        .route("/api/admin/v1/ledger", get(get_ledger))
        .route("/api/admin/v1/ledger/verify", get(verify_ledger))
        .with_state(state)
}
