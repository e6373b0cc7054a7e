//! The operator's API, `/api/admin/v1` (wire.md "Provider"): subscriber contracts,
//! processing contracts, tariffs, transactions, the gateway log and the payments switch.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::error::ApiError;
use shared::extract::JsonBody;
use shared::fields::FieldSet;
use shared::money::{Kopecks, Money};
use shared::wire::provider::{PaymentProtocol, SignSubscriber, SubscriberContract, USAGE_PROTOCOL};

use super::ProviderState;
use super::billing::{self, NewContract};
use super::store::{self, ContractRow, SubscriberView, Tariff};
use super::subscriber_list::{self, SubscriberQuery};
use crate::provider::domain::{self, ContractData, ProviderKind, Service};
use crate::provider::listing::SubscriberSort;
use crate::server::clock;
use crate::server::credentials::new_credential;
use crate::server::listing;
use crate::ui::sort::SortColumn;

/// Rows a list answers at most.
pub const MAX_LIST_ROWS: i64 = 500;
/// Default payment limits of a processing contract: 1.00 to 15 000.00 RUB.
pub const DEFAULT_MIN_AMOUNT: Kopecks = Kopecks::new(100);
pub const DEFAULT_MAX_AMOUNT: Kopecks = Kopecks::new(1_500_000);

fn db(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

/// Validates a subscriber's contract data, naming every bad field at once.
pub fn validate_subscriber(body: &SignSubscriber) -> Result<ContractData, ApiError> {
    domain::contract_data(&body.full_name, &body.passport, &body.email, &body.services).map_err(
        |errors| ApiError::Validation {
            fields: domain::english(&errors),
        },
    )
}

/// Signs a validated subscriber and returns the contract with its one-time password.
pub async fn sign_subscriber(
    state: &ProviderState,
    subscriber: ContractData,
    by: &str,
) -> Result<SubscriberContract, ApiError> {
    let credential = new_credential().await.map_err(ApiError::internal)?;
    let (id, account) = billing::sign(
        &state.pool,
        state.kind,
        state.account_offset,
        &state.subscriber_logins,
        &subscriber,
        &credential,
        by,
    )
    .await
    .map_err(db)?;
    tracing::info!(subscriber_id = id, account, by, "subscriber signed");
    Ok(SubscriberContract {
        subscriber_id: id,
        login: account.clone(),
        account,
        usage_url: format!("{}/api/usage/v1/usage", state.base_url),
        protocol: USAGE_PROTOCOL.to_owned(),
        password: credential.password,
        services: subscriber
            .services
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        balance: Money::rub(Kopecks::ZERO),
    })
}

async fn create_subscriber(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<SignSubscriber>,
) -> Result<impl IntoResponse, ApiError> {
    let subscriber = validate_subscriber(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(sign_subscriber(&state, subscriber, &principal.login).await?),
    ))
}

/// `GET /subscribers?q=&sort=&dir=&after=&limit=` as it arrives (checked by
/// [`Search::checked`]).
#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
    sort: Option<String>,
    dir: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
}

impl Search {
    /// The list's query, or a 422 naming the parameter that is not one the list offers.
    fn checked(&self) -> Result<SubscriberQuery, ApiError> {
        let sort = listing::checked_sort::<SubscriberSort>(self.sort.as_deref())?;
        Ok(SubscriberQuery {
            q: self.q.clone(),
            sort,
            dir: listing::checked_dir(sort, self.dir.as_deref())?,
            after: listing::checked_cursor(self.after.as_deref())?,
            limit: listing::checked_limit(self.limit, MAX_LIST_ROWS)?,
        })
    }
}

/// A page of subscribers, as a JSON array; when more follow, a `Link` header names the
/// next page (the same query with `after=` the last row's cursor).
async fn list_subscribers(
    State(state): State<ProviderState>,
    Query(search): Query<Search>,
) -> Result<impl IntoResponse, ApiError> {
    let query = search.checked()?;
    let (rows, next) = subscriber_list::page(&state.pool, &query)
        .await
        .map_err(db)?;
    let mut headers = axum::http::HeaderMap::new();
    if let Some(next) = next {
        let params = [
            ("q", query.q.clone()),
            ("sort", query.sort.as_str().to_owned()),
            ("dir", query.dir.as_str().to_owned()),
            ("after", next.to_string()),
            ("limit", query.limit.to_string()),
        ];
        if let Some(link) = listing::next_link("/api/admin/v1/subscribers", &params) {
            headers.insert(axum::http::header::LINK, link);
        }
    }
    Ok((
        headers,
        Json(
            rows.into_iter()
                .map(SubscriberView::from)
                .collect::<Vec<_>>(),
        ),
    ))
}

async fn subscriber(state: &ProviderState, account: &str) -> Result<SubscriberView, ApiError> {
    store::subscriber_by_account(&state.pool, account)
        .await
        .map_err(db)?
        .map(SubscriberView::from)
        .ok_or_else(|| ApiError::NotFound {
            what: format!("subscriber {account}"),
        })
}

async fn get_subscriber(
    State(state): State<ProviderState>,
    Path(account): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(subscriber(&state, &account).await?))
}

/// `PATCH /subscribers/{account}` body; absent fields stay as they are.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchSubscriber {
    pub full_name: Option<String>,
    pub passport: Option<String>,
    pub email: Option<String>,
    pub services: Option<Vec<String>>,
}

async fn patch_subscriber(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    Path(account): Path<String>,
    JsonBody(body): JsonBody<PatchSubscriber>,
) -> Result<impl IntoResponse, ApiError> {
    let current = subscriber(&state, &account).await?;
    let changes = domain::contract_changes(
        body.full_name.as_deref(),
        body.passport.as_deref(),
        body.email.as_deref(),
        body.services.as_deref(),
    )
    .map_err(|errors| ApiError::Validation {
        fields: domain::english(&errors),
    })?;
    if current.status != "active"
        || !billing::update(&state.pool, &account, &changes, &principal.login)
            .await
            .map_err(db)?
    {
        return Err(ApiError::field(
            "account",
            "the contract is closed; a closed contract cannot be changed",
        ));
    }
    tracing::info!(account, "subscriber changed");
    Ok(Json(subscriber(&state, &account).await?))
}

async fn close_subscriber(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    Path(account): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    subscriber(&state, &account).await?;
    if billing::close(
        &state.pool,
        &state.subscriber_logins,
        &account,
        &principal.login,
    )
    .await
    .map_err(db)?
    {
        tracing::info!(account, "subscriber contract closed");
    }
    Ok(Json(subscriber(&state, &account).await?))
}

/// `POST /processing-contracts` body.
#[derive(Deserialize)]
pub struct CreateContract {
    pub processing_name: String,
    pub protocol: String,
    pub min_amount: Option<Kopecks>,
    pub max_amount: Option<Kopecks>,
    /// The payment fields, `account` first; absent: the kind's one `account` field.
    #[serde(default)]
    pub fields: Option<Vec<Field>>,
}

/// A payment field as issued to processing centers.
pub use shared::fields::Field;

/// A new processing contract with its one-time password.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuedContract {
    pub contract_id: i64,
    pub processing_name: String,
    pub endpoint_url: String,
    pub protocol: PaymentProtocol,
    pub login: String,
    pub password: String,
    pub fields: Vec<Field>,
    pub min_amount: Kopecks,
    pub max_amount: Kopecks,
}

/// Checks payment field definitions as they are saved (`FieldSet::compile`: `account`
/// first, names, regexes compiled within bounds, options that match). The refusals are
/// keyed `fields.<name>` (`fields` for the list as a whole).
/// Names that are OSMP's own parameters are refused too: they travel as parameters.
pub fn validate_fields(fields: &[Field]) -> Result<(), BTreeMap<String, String>> {
    let mut refused = FieldSet::compile(fields).err().unwrap_or_default();
    refused.extend(shared::wire::osmp::reserved_field_names(fields));
    if refused.is_empty() {
        Ok(())
    } else {
        Err(refused)
    }
}

pub fn validate_contract(
    body: &CreateContract,
    kind: ProviderKind,
) -> Result<NewContract, ApiError> {
    let mut fields = BTreeMap::new();
    let payment_fields = body.fields.clone().unwrap_or_else(|| kind.default_fields());
    if let Err(refused) = validate_fields(&payment_fields) {
        fields.extend(refused);
    }
    let name = body.processing_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        fields.insert(
            "processing_name".to_owned(),
            "give the processing center's name (100 characters at most)".to_owned(),
        );
    }
    let protocol = PaymentProtocol::parse(&body.protocol);
    if protocol.is_none() {
        fields.insert(
            "protocol".to_owned(),
            "the protocol is osmp or json".to_owned(),
        );
    }
    let min = body.min_amount.unwrap_or(DEFAULT_MIN_AMOUNT);
    let max = body.max_amount.unwrap_or(DEFAULT_MAX_AMOUNT);
    if !min.is_positive() {
        fields.insert(
            "min_amount".to_owned(),
            "must be a positive number of kopecks".to_owned(),
        );
    }
    if max < min {
        fields.insert(
            "max_amount".to_owned(),
            "must not be below min_amount".to_owned(),
        );
    }
    if !max.is_acceptable_input() {
        fields.insert(
            "max_amount".to_owned(),
            format!("must be at most {} RUB", Kopecks::MAX_INPUT),
        );
    }
    let Some(protocol) = protocol.filter(|_| fields.is_empty()) else {
        return Err(ApiError::Validation { fields });
    };
    Ok(NewContract {
        processing_name: name.to_owned(),
        protocol,
        min_amount: min,
        max_amount: max,
        fields: payment_fields,
    })
}

pub async fn issue_contract(
    state: &ProviderState,
    contract: NewContract,
    by: &str,
) -> Result<IssuedContract, ApiError> {
    let credential = new_credential().await.map_err(ApiError::internal)?;
    let (id, login) = billing::create_contract(
        &state.pool,
        state.kind,
        &state.processing_logins,
        &contract,
        &credential,
        by,
    )
    .await
    .map_err(db)?;
    tracing::info!(contract = id, processing = %contract.processing_name, protocol = %contract.protocol, by, "processing contract signed");
    let endpoint_url = match contract.protocol {
        PaymentProtocol::Json => format!("{}/api/processing/v1", state.base_url),
        PaymentProtocol::Osmp => format!("{}/osmp", state.base_url),
    };
    Ok(IssuedContract {
        contract_id: id,
        processing_name: contract.processing_name,
        endpoint_url,
        protocol: contract.protocol,
        login,
        password: credential.password,
        fields: contract.fields,
        min_amount: contract.min_amount,
        max_amount: contract.max_amount,
    })
}

async fn create_contract(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<CreateContract>,
) -> Result<impl IntoResponse, ApiError> {
    let contract = validate_contract(&body, state.kind)?;
    Ok((
        StatusCode::CREATED,
        Json(issue_contract(&state, contract, &principal.login).await?),
    ))
}

async fn list_contracts(State(state): State<ProviderState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        store::contracts(&state.pool, state.kind)
            .await
            .map_err(db)?,
    ))
}

#[derive(Deserialize)]
struct ContractStatus {
    status: String,
}

async fn patch_contract(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ContractStatus>,
) -> Result<impl IntoResponse, ApiError> {
    if !["active", "suspended", "closed"].contains(&body.status.as_str()) {
        return Err(ApiError::field(
            "status",
            "the status is active, suspended or closed",
        ));
    }
    contract_or_404(&state, id).await?;
    if !billing::set_contract_status(
        &state.pool,
        &state.processing_logins,
        id,
        &body.status,
        &principal.login,
    )
    .await
    .map_err(db)?
    {
        return Err(ApiError::field(
            "status",
            "the contract is closed; a closed contract stays closed",
        ));
    }
    tracing::info!(contract = id, status = %body.status, "processing contract status changed");
    Ok(Json(contract_or_404(&state, id).await?))
}

async fn contract_or_404(state: &ProviderState, id: i64) -> Result<ContractRow, ApiError> {
    store::contract(&state.pool, state.kind, id)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("processing contract {id}"),
        })
}

/// `PUT /processing-contracts/{id}/fields` body: the whole new list, `account` first.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractFields {
    pub fields: Vec<Field>,
}

/// Replaces a contract's payment fields. They apply to the next check or pay at once;
/// the processing center must be given the same list (its `PATCH /providers/{id}`), or
/// it keeps sending the old ones and is answered 4. A closed contract keeps its fields.
pub async fn change_contract_fields(
    state: &ProviderState,
    id: i64,
    fields: &[Field],
    by: &str,
) -> Result<ContractRow, ApiError> {
    validate_fields(fields).map_err(|fields| ApiError::Validation { fields })?;
    contract_or_404(state, id).await?;
    if !store::set_contract_fields(&state.pool, state.kind, id, fields, by)
        .await
        .map_err(db)?
    {
        return Err(ApiError::field(
            "status",
            "the contract is closed; a closed contract keeps its fields",
        ));
    }
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    tracing::info!(
        contract = id,
        ?names,
        by,
        "processing contract fields changed"
    );
    contract_or_404(state, id).await
}

async fn put_contract_fields(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ContractFields>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        change_contract_fields(&state, id, &body.fields, &principal.login).await?,
    ))
}

/// A processing center's login with its new password, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RotatedCredential {
    pub login: String,
    pub password: String,
}

/// Gives a processing contract's login a new password, returned once; the old one stops
/// working at once, in every process. A closed contract's login stays revoked (422).
pub async fn rotate_contract_password(
    state: &ProviderState,
    id: i64,
    by: &str,
) -> Result<RotatedCredential, ApiError> {
    contract_or_404(state, id).await?;
    let credential = new_credential().await.map_err(ApiError::internal)?;
    let login = billing::rotate_contract_password(
        &state.pool,
        &state.processing_logins,
        id,
        &credential,
        by,
    )
    .await
    .map_err(db)?
    .ok_or_else(|| ApiError::field("status", "the contract is closed; its login stays revoked"))?;
    tracing::warn!(contract = id, login = %login, by, "processing contract password replaced");
    Ok(RotatedCredential {
        login,
        password: credential.password,
    })
}

/// Re-opens a closed processing contract: active again, its login back with a new
/// password, returned once (the old one stays dead). Not closed → 422.
pub async fn reopen_contract(
    state: &ProviderState,
    id: i64,
    by: &str,
) -> Result<RotatedCredential, ApiError> {
    contract_or_404(state, id).await?;
    let credential = new_credential().await.map_err(ApiError::internal)?;
    let login =
        billing::reopen_contract(&state.pool, &state.processing_logins, id, &credential, by)
            .await
            .map_err(db)?
            .ok_or_else(|| ApiError::field("status", "only a closed contract is re-opened"))?;
    tracing::warn!(contract = id, login = %login, by, "processing contract re-opened");
    Ok(RotatedCredential {
        login,
        password: credential.password,
    })
}

/// A new password for a processing center, whichever way its contract stands: a live
/// contract's login gets one ([`rotate_contract_password`]), a closed contract is
/// re-opened with one ([`reopen_contract`]). The portal's one "new password" action.
pub async fn renew_contract_access(
    state: &ProviderState,
    id: i64,
    by: &str,
) -> Result<(RotatedCredential, bool), ApiError> {
    let reopened = contract_or_404(state, id).await?.status == "closed";
    let credential = if reopened {
        reopen_contract(state, id, by).await?
    } else {
        rotate_contract_password(state, id, by).await?
    };
    Ok((credential, reopened))
}

async fn post_contract_reopen(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(reopen_contract(&state, id, &principal.login).await?),
    ))
}

async fn post_contract_credentials(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(rotate_contract_password(&state, id, &principal.login).await?),
    ))
}

#[derive(Deserialize)]
struct TransactionFilter {
    account: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Keyset paging: only transactions older than this id (the last of the page before).
    before: Option<i64>,
    /// 1 to 500 (the default).
    limit: Option<i64>,
}

async fn list_transactions(
    State(state): State<ProviderState>,
    Query(filter): Query<TransactionFilter>,
) -> Result<impl IntoResponse, ApiError> {
    // Days local to the provider (`--time-zone`).
    let (from, to) = (filter.from.as_deref(), filter.to.as_deref());
    let bounds = clock::filter_bounds_in(&state.zone, from, to)
        .map_err(|field| ApiError::field(field, "a date is YYYY-MM-DD"))?;
    let account = filter.account.as_deref().filter(|a| !a.is_empty());
    let limit = listing::checked_limit(filter.limit, MAX_LIST_ROWS)?;
    // One more than a page: whether an older page exists, without counting them all.
    let mut rows = store::transactions(&state.pool, account, bounds, filter.before, limit + 1)
        .await
        .map_err(db)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let mut headers = axum::http::HeaderMap::new();
    if let Some(last) = rows.last().filter(|_| more) {
        let params = [
            ("account", account.unwrap_or_default().to_owned()),
            ("from", filter.from.clone().unwrap_or_default()),
            ("to", filter.to.clone().unwrap_or_default()),
            ("before", last.id.to_string()),
            ("limit", limit.to_string()),
        ];
        if let Some(link) = listing::next_link("/api/admin/v1/transactions", &params) {
            headers.insert(axum::http::header::LINK, link);
        }
    }
    Ok((headers, Json(rows)))
}

async fn get_tariffs(State(state): State<ProviderState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(store::tariffs(&state.pool).await.map_err(db)?))
}

/// `PUT /tariffs` body: the prices to set (others stay).
#[derive(Deserialize)]
pub struct TariffPrice {
    pub service: String,
    pub unit_price: Kopecks,
}

pub fn validate_tariffs(body: &[TariffPrice]) -> Result<Vec<(Service, Kopecks)>, ApiError> {
    let mut prices = Vec::new();
    let mut fields = BTreeMap::new();
    for price in body {
        match Service::parse(&price.service) {
            None => {
                fields.insert(
                    price.service.clone(),
                    "unknown service; the services are call, internet, sms".to_owned(),
                );
            }
            Some(_) if !price.unit_price.is_acceptable_input() => {
                fields.insert(
                    price.service.clone(),
                    format!("a price from 0 to {} RUB", Kopecks::MAX_INPUT),
                );
            }
            Some(service) => prices.push((service, price.unit_price)),
        }
    }
    if !fields.is_empty() {
        return Err(ApiError::Validation { fields });
    }
    Ok(prices)
}

async fn put_tariffs(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<Vec<TariffPrice>>,
) -> Result<Json<Vec<Tariff>>, ApiError> {
    let prices = validate_tariffs(&body)?;
    store::set_tariffs(&state.pool, &prices, &principal.login)
        .await
        .map_err(db)?;
    tracing::info!(?prices, by = %principal.login, "tariffs changed");
    Ok(Json(store::tariffs(&state.pool).await.map_err(db)?))
}

async fn get_gateway_log(
    State(state): State<ProviderState>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        store::gateway_log(&state.pool, MAX_LIST_ROWS)
            .await
            .map_err(db)?,
    ))
}

/// `GET|PUT /settings`: the provider-wide payments switch.
#[derive(Serialize, Deserialize)]
pub struct Settings {
    /// `open`, `paused` (check/pay answer 1, repeat later) or `closed` (8).
    pub payments: String,
}

async fn get_settings(State(state): State<ProviderState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(Settings {
        payments: store::payments_switch(&state.pool).await.map_err(db)?,
    }))
}

async fn put_settings(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<Settings>,
) -> Result<impl IntoResponse, ApiError> {
    if !["open", "paused", "closed"].contains(&body.payments.as_str()) {
        return Err(ApiError::field(
            "payments",
            "payments are open, paused or closed",
        ));
    }
    store::set_payments_switch(&state.pool, &body.payments, &principal.login)
        .await
        .map_err(db)?;
    tracing::info!(payments = %body.payments, by = %principal.login, "payments switch changed");
    Ok(Json(body))
}

pub fn router(state: ProviderState) -> axum::Router {
    use axum::routing::{get, patch};
    axum::Router::new()
        .route(
            "/api/admin/v1/subscribers",
            get(list_subscribers).post(create_subscriber),
        )
        .route(
            "/api/admin/v1/subscribers/{account}",
            get(get_subscriber)
                .patch(patch_subscriber)
                .delete(close_subscriber),
        )
        .route(
            "/api/admin/v1/processing-contracts",
            get(list_contracts).post(create_contract),
        )
        .route(
            "/api/admin/v1/processing-contracts/{id}",
            patch(patch_contract),
        )
        .route(
            "/api/admin/v1/processing-contracts/{id}/fields",
            axum::routing::put(put_contract_fields),
        )
        .route(
            "/api/admin/v1/processing-contracts/{id}/credentials",
            axum::routing::post(post_contract_credentials),
        )
        .route(
            "/api/admin/v1/processing-contracts/{id}/reopen",
            axum::routing::post(post_contract_reopen),
        )
        .route("/api/admin/v1/transactions", get(list_transactions))
        .route("/api/admin/v1/tariffs", get(get_tariffs).put(put_tariffs))
        .route("/api/admin/v1/gateway-log", get(get_gateway_log))
        .route(
            "/api/admin/v1/settings",
            get(get_settings).put(put_settings),
        )
        .with_state(state)
}
