//! One payment in the operator's API (docs/processing.md "A payment in detail"):
//!
//! * `GET /api/admin/v1/payments/{payment_id}` — the payment with its provider calls,
//!   ledger postings and audit entries ([`PaymentDetail`]);
//! * `POST /api/admin/v1/payments/{payment_id}/retry` — "retry now" for a pending payment
//!   waiting out its backoff: `202` and the detail; `409 retry_refused` when it is settled
//!   or an attempt holds it. An operator's action (staff/access.rs), audited.
//!
//! An id that is not a positive number is `422 validation_failed` (field `payment_id`),
//! an unknown one `404 not_found`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use shared::auth::Principal;
use shared::error::ApiError;

use super::ProcessingState;
use super::store::payment_detail as store;
use crate::processing::detail::PaymentDetail;

/// The longest id text taken: an `i64` has 19 digits.
const ID_DIGITS_MAX: usize = 19;

/// A payment id as typed into the path: digits, positive, within `i64`.
pub fn parse_payment_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| {
            *id > 0 && text.len() <= ID_DIGITS_MAX && text.bytes().all(|b| b.is_ascii_digit())
        })
        .ok_or_else(|| ApiError::field("payment_id", "a payment number: digits only"))
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound {
        what: format!("payment {id}"),
    }
}

/// The payment `id` in full, or `404`.
pub async fn detail(state: &ProcessingState, id: i64) -> Result<PaymentDetail, ApiError> {
    store::payment_detail(&state.pool, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| not_found(id))
}

/// "Retry now" as `by`: the payment made due at once for the retrier, and its detail
/// after; `409 retry_refused` when it cannot act, `404` for an unknown payment.
pub async fn retry(state: &ProcessingState, id: i64, by: &str) -> Result<PaymentDetail, ApiError> {
    match store::retry_now(&state.pool, id, by)
        .await
        .map_err(ApiError::internal)?
    {
        None => Err(not_found(id)),
        Some(Err(refusal)) => Err(ApiError::RetryRefused {
            reason: refusal.describe().to_owned(),
        }),
        Some(Ok(())) => {
            tracing::warn!(
                payment_id = id,
                by,
                "payment retry requested by an operator"
            );
            detail(state, id).await
        }
    }
}

async fn get_detail(
    State(state): State<ProcessingState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(detail(&state, parse_payment_id(&id)?).await?))
}

async fn post_retry(
    State(state): State<ProcessingState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_payment_id(&id)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(retry(&state, id, &principal.login).await?),
    ))
}

pub fn router(state: ProcessingState) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/admin/v1/payments/{payment_id}", get(get_detail))
        .route(
            "/api/admin/v1/payments/{payment_id}/retry",
            post(post_retry),
        )
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids_are_positive_digits() {
        assert_eq!(parse_payment_id("7").unwrap(), 7);
        for bad in [
            "",
            "abc",
            "-1",
            "0",
            "+7",
            " 7",
            "1e3",
            "99999999999999999999",
        ] {
            assert!(parse_payment_id(bad).is_err(), "{bad:?}");
        }
    }
}
