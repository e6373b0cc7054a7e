//! The subscribers' API, `/api/usage/v1`: use a service (charged at once) and read the
//! balance. The login is the account; its subject is the subscriber id.

use axum::extract::State;
use axum::{Extension, Json};
use shared::auth::Principal;
use shared::error::ApiError;
use shared::extract::JsonBody;
use shared::money::Money;
use shared::wire::provider::{Balance, UsageCharged, UseService};

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

pub fn router(state: ProviderState) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/usage/v1/usage", post(use_service))
        .route("/api/usage/v1/balance", get(balance))
        .with_state(state)
}
