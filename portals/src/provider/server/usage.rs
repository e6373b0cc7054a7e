//! The subscribers' API, `/api/usage/v1`: use a service (charged at once), read the
//! balance and the history of charges and payments. The login is the account; its subject
//! is the subscriber id.

use axum::extract::{Query, State};
use axum::{Extension, Json};
use shared::auth::Principal;
use shared::error::ApiError;
use shared::extract::JsonBody;
use shared::money::Money;
use shared::wire::provider::{Balance, History, HistoryEntry, UsageCharged, UseService};

use super::ProviderState;
use super::billing::{self, Charge, MAX_QUANTITY};
use super::store;
use crate::provider::domain::Service;

/// The subscriber behind the login: its subject is the subscriber id.
async fn signed_in(
    state: &ProviderState,
    principal: &Principal,
) -> Result<crate::provider::model::SubscriberRow, ApiError> {
    let id: i64 = principal
        .subject
        .parse()
        .map_err(|_| ApiError::internal("subscriber login without a subscriber id"))?;
    store::subscriber_by_id(&state.pool, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound {
            what: "subscriber".into(),
        })
}

async fn use_service(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<UseService>,
) -> Result<Json<UsageCharged>, ApiError> {
    let subscriber = signed_in(&state, &principal).await?;
    let service = Service::parse(&body.service)
        .filter(|s| {
            store::split_services(&subscriber.services)
                .iter()
                .any(|x| x == s.as_str())
        })
        .ok_or_else(|| {
            ApiError::field(
                "service",
                format!(
                    "the contract's services are {}",
                    subscriber.services.replace(',', ", ")
                ),
            )
        })?;
    if body.quantity <= 0 || body.quantity > MAX_QUANTITY {
        return Err(ApiError::field(
            "quantity",
            format!("a whole number from 1 to {MAX_QUANTITY}"),
        ));
    }
    let unit_price = store::unit_price(&state.pool, service)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(format!("no tariff for {service}")))?;
    let cost = unit_price
        .checked_mul(body.quantity)
        .ok_or_else(|| ApiError::field("quantity", "too large"))?;
    match billing::charge(
        &state.pool,
        subscriber.id,
        service,
        body.quantity,
        unit_price,
        cost,
    )
    .await
    .map_err(ApiError::internal)?
    {
        Charge::Charged {
            usage_id,
            charged,
            balance,
        } => {
            tracing::info!(account = %subscriber.account, %service, quantity = body.quantity, charged = %charged, balance = %balance, "usage charged");
            Ok(Json(UsageCharged {
                usage_id,
                service: service.as_str().to_owned(),
                quantity: body.quantity,
                charged: Money::rub(charged),
                balance: Money::rub(balance),
            }))
        }
        Charge::InsufficientFunds { needed, balance } => Err(ApiError::InsufficientFunds {
            message: format!(
                "{service} × {} costs {needed} RUB; the balance is {balance} RUB",
                body.quantity
            ),
        }),
        Charge::NotActive => Err(ApiError::field("account", "the contract is closed")),
    }
}

async fn balance(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Balance>, ApiError> {
    let subscriber = signed_in(&state, &principal).await?;
    Ok(Json(Balance {
        account: subscriber.account,
        balance: Money::rub(shared::money::Kopecks::new(subscriber.balance)),
        status: subscriber.status,
    }))
}

/// The most movements one history answer holds: the consumer reads it within a cap.
pub const HISTORY_ROWS: i64 = 200;

#[derive(serde::Deserialize)]
struct HistoryFilter {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/usage/v1/transactions?from=&to=`: the signed-in subscriber's own charges and
/// payments, newest first, at most [`HISTORY_ROWS`].
async fn history(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    Query(filter): Query<HistoryFilter>,
) -> Result<Json<History>, ApiError> {
    let subscriber = signed_in(&state, &principal).await?;
    // Days local to the provider (`--time-zone`), as its reports count them.
    let bounds = crate::server::clock::filter_bounds_in(
        &state.zone,
        filter.from.as_deref(),
        filter.to.as_deref(),
    )
    .map_err(|field| ApiError::field(field, "a date is YYYY-MM-DD"))?;
    let rows = store::transactions(
        &state.pool,
        Some(&subscriber.account),
        bounds,
        None,
        HISTORY_ROWS,
    )
    .await
    .map_err(ApiError::internal)?;
    let money = |kopecks| Money::rub(shared::money::Kopecks::new(kopecks));
    Ok(Json(History {
        account: subscriber.account,
        full_name: subscriber.full_name,
        transactions: rows
            .into_iter()
            .map(|row| HistoryEntry {
                id: row.id,
                kind: row.kind,
                service: row.service,
                quantity: row.quantity,
                amount: money(row.amount),
                balance_after: money(row.balance_after),
                created_at: row.created_at,
            })
            .collect(),
    }))
}

pub fn router(state: ProviderState) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/usage/v1/usage", post(use_service))
        .route("/api/usage/v1/balance", get(balance))
        .route("/api/usage/v1/transactions", get(history))
        .with_state(state)
}
