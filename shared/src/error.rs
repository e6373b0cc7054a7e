//! The one error type of every HTTP API, and the JSON error body of wire.md:
//! `{"error": {"code": "<snake_case>", "message": "<human text>", "fields": {...}}}`.
//!
//! Handlers return `Result<_, ApiError>`; the mapping to a status and a body happens here
//! and nowhere else. Internal causes are logged, never sent to the client.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The error body on the wire (also what clients of other participants parse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    /// The payment-link result code, where the refusal has one (215 for a reused key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<u16>,
    /// With `result`: whether a retry can help (never, for 215).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatal: Option<bool>,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// Field name → why it was refused; only with `validation_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

#[cfg(feature = "server")]
pub use server::ApiError;

#[cfg(feature = "server")]
mod server {
    use std::collections::BTreeMap;

    use axum::Json;
    use axum::response::{IntoResponse, Response};
    use http::StatusCode;

    use super::{ErrorBody, ErrorDetail};

    /// Everything an API call can fail with, as the client should see it.
    #[derive(Debug, thiserror::Error)]
    pub enum ApiError {
        /// No valid credentials of the realm that owns the path. The gate adds the
        /// `WWW-Authenticate` challenge.
        #[error("authentication required for {realm}")]
        Unauthorized { realm: String },
        /// A browser request that changes state came from another site (see `csrf`).
        #[error("cross-site request refused")]
        CrossSite,
        /// Input that does not make sense; every bad field is named.
        #[error("validation failed")]
        Validation { fields: BTreeMap<String, String> },
        #[error("{what} not found")]
        NotFound { what: String },
        #[error("insufficient funds")]
        InsufficientFunds { message: String },
        #[error("the idempotency key was used with different data")]
        IdempotencyConflict,
        #[error("the terminal is blocked: {reason}")]
        TerminalBlocked { reason: String },
        /// The agent's contract is suspended by processing: its API refuses everything
        /// until processing resumes it (payments already accepted still settle).
        #[error("the agent's contract is suspended; ask the processing center")]
        AgentSuspended,
        #[error("the provider could not be reached: {detail}")]
        ProviderUnavailable { detail: String },
        #[error("the request body is larger than {limit_bytes} bytes")]
        PayloadTooLarge { limit_bytes: usize },
        /// Too many failed logins for this login from this address (see `auth::throttle`);
        /// the answer carries `Retry-After`.
        #[error("too many failed logins; try again in {retry_after_seconds} s")]
        TooManyAttempts { retry_after_seconds: u64 },
        /// The server cannot take this request now (the password-hashing queue is full);
        /// nothing was done, and the answer carries `Retry-After`.
        #[error("the server is busy; try again in {retry_after_seconds} s")]
        Overloaded { retry_after_seconds: u64 },
        /// A kiosk session is paid only after a successful check (result 0) of the same
        /// provider and account.
        #[error("this session's account was not checked successfully; check it before paying")]
        CheckRequired,
        /// A bill arrived before kiosk-shell reported the validator's bill table, so its
        /// value cannot be verified yet (the shell sends the table and tries again).
        #[error("the validator's bill table is not known yet")]
        BillTableUnknown,
        /// Cash the operator already dealt with: a claim is resolved once (paid again,
        /// refunded or written off), never twice.
        #[error("this cash was already {resolution}")]
        ClaimResolved { resolution: String },
        /// The cash box changed since the collection being recorded was counted (another
        /// collection was recorded meanwhile): nothing was recorded; count again.
        #[error(
            "another collection of the cash box was recorded meanwhile; reload and count again"
        )]
        EncashmentConflict,
        /// An operator's "retry now" that cannot act on the payment as it stands (settled,
        /// or an attempt under way): nothing changed.
        #[error("{reason}")]
        RetryRefused { reason: String },
        /// The signed-in staff login's role may not do this (a viewer changing anything,
        /// an operator managing staff or credentials; docs/security.md "Staff roles").
        #[error("the {role} role may not do this; it needs the {needed} role")]
        ForbiddenRole {
            role: &'static str,
            needed: &'static str,
        },
        /// A bug or an outage on our side; the cause is logged, the client learns nothing of it.
        #[error("internal error: {0}")]
        Internal(Box<dyn std::error::Error + Send + Sync>),
    }

    impl ApiError {
        /// A `validation_failed` error about one field.
        pub fn field(field: &str, why: impl Into<String>) -> Self {
            ApiError::Validation {
                fields: BTreeMap::from([(field.to_owned(), why.into())]),
            }
        }

        /// Wraps any failure of ours as a 500.
        pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
            ApiError::Internal(cause.into())
        }

        pub fn status(&self) -> StatusCode {
            match self {
                ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
                ApiError::CrossSite => StatusCode::FORBIDDEN,
                ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
                ApiError::InsufficientFunds { .. } => StatusCode::PAYMENT_REQUIRED,
                ApiError::IdempotencyConflict => StatusCode::CONFLICT,
                ApiError::TerminalBlocked { .. } => StatusCode::CONFLICT,
                ApiError::AgentSuspended => StatusCode::FORBIDDEN,
                ApiError::ProviderUnavailable { .. } => StatusCode::BAD_GATEWAY,
                ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
                ApiError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
                ApiError::CheckRequired => StatusCode::CONFLICT,
                ApiError::BillTableUnknown => StatusCode::CONFLICT,
                ApiError::ClaimResolved { .. } => StatusCode::CONFLICT,
                ApiError::EncashmentConflict => StatusCode::CONFLICT,
                ApiError::RetryRefused { .. } => StatusCode::CONFLICT,
                ApiError::ForbiddenRole { .. } => StatusCode::FORBIDDEN,
                ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }

        /// The stable code of wire.md.
        pub fn code(&self) -> &'static str {
            match self {
                ApiError::Unauthorized { .. } => "unauthorized",
                ApiError::CrossSite => "cross_site_request",
                ApiError::Validation { .. } => "validation_failed",
                ApiError::NotFound { .. } => "not_found",
                ApiError::InsufficientFunds { .. } => "insufficient_funds",
                ApiError::IdempotencyConflict => "idempotency_conflict",
                ApiError::TerminalBlocked { .. } => "terminal_blocked",
                ApiError::AgentSuspended => "agent_suspended",
                ApiError::ProviderUnavailable { .. } => "provider_unavailable",
                ApiError::PayloadTooLarge { .. } => "payload_too_large",
                ApiError::TooManyAttempts { .. } => "too_many_attempts",
                ApiError::Overloaded { .. } => "overloaded",
                ApiError::CheckRequired => "check_required",
                ApiError::BillTableUnknown => "bill_table_unknown",
                ApiError::ClaimResolved { .. } => "claim_resolved",
                ApiError::EncashmentConflict => "encashment_conflict",
                ApiError::RetryRefused { .. } => "retry_refused",
                ApiError::ForbiddenRole { .. } => "forbidden_role",
                ApiError::Internal(_) => "internal_error",
            }
        }

        /// The wire body.
        pub fn body(&self) -> ErrorBody {
            let message = match self {
                ApiError::Internal(_) => {
                    "an internal error occurred; the server log has the details".to_owned()
                }
                ApiError::InsufficientFunds { message } => message.clone(),
                other => {
                    let mut text = other.to_string();
                    if let Some(first) = text.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    text
                }
            };
            let fields = match self {
                ApiError::Validation { fields } => Some(fields.clone()),
                _ => None,
            };
            let result = match self {
                ApiError::IdempotencyConflict => Some(215),
                _ => None,
            };
            ErrorBody {
                error: ErrorDetail {
                    code: self.code().to_owned(),
                    message,
                    fields,
                },
                result,
                fatal: result.map(|_| true),
            }
        }

        /// Seconds the client should wait before trying again, for refusals that end by
        /// themselves; sent as `Retry-After`.
        pub fn retry_after_seconds(&self) -> Option<u64> {
            match self {
                ApiError::TooManyAttempts {
                    retry_after_seconds,
                }
                | ApiError::Overloaded {
                    retry_after_seconds,
                } => Some(*retry_after_seconds),
                _ => None,
            }
        }
    }

    impl IntoResponse for ApiError {
        fn into_response(self) -> Response {
            match &self {
                ApiError::Internal(cause) => tracing::error!(error = %cause, "request failed"),
                ApiError::Unauthorized { .. } => {}
                other => tracing::info!(code = other.code(), error = %other, "request refused"),
            }
            let mut response = (self.status(), Json(self.body())).into_response();
            if let Some(seconds) = self.retry_after_seconds() {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
            }
            response
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn validation_bodies_name_their_fields() {
            let body =
                serde_json::to_value(ApiError::field("email", "not an e-mail address").body())
                    .unwrap();
            assert_eq!(
                body,
                serde_json::json!({"error": {"code": "validation_failed", "message": "Validation failed",
                    "fields": {"email": "not an e-mail address"}}})
            );
            assert_eq!(
                ApiError::field("x", "y").status(),
                StatusCode::UNPROCESSABLE_ENTITY
            );
        }

        #[test]
        fn a_suspended_agent_is_forbidden_with_its_own_code() {
            let e = ApiError::AgentSuspended;
            assert_eq!(e.status(), StatusCode::FORBIDDEN);
            assert_eq!(
                serde_json::to_value(e.body()).unwrap()["error"]["code"],
                "agent_suspended"
            );
        }

        #[test]
        fn throttled_answers_say_when_to_come_back() {
            let response = ApiError::TooManyAttempts {
                retry_after_seconds: 42,
            }
            .into_response();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(response.headers()[http::header::RETRY_AFTER], "42");
            let busy = ApiError::Overloaded {
                retry_after_seconds: 1,
            };
            assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(busy.body().error.code, "overloaded");
            assert_eq!(
                busy.into_response().headers()[http::header::RETRY_AFTER],
                "1"
            );
        }

        #[test]
        fn internal_errors_do_not_leak() {
            let e = ApiError::internal("database password is hunter2");
            assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(
                !serde_json::to_string(&e.body())
                    .unwrap()
                    .contains("hunter2")
            );
            assert!(
                serde_json::to_value(e.body()).unwrap()["error"]
                    .get("fields")
                    .is_none()
            );
        }
    }
}
