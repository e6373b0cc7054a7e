//! Request extractors whose failures are [`ApiError`]s, so a malformed body gets the same
//! JSON error body as every other refusal (axum's own rejections are plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body: unreadable JSON → `422 validation_failed` naming `body`; too large →
/// `413 payload_too_large`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge {
                        limit_bytes: crate::extract::DEFAULT_LIMIT_BYTES,
                    }
                } else {
                    ApiError::field("body", rejection.body_text())
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::field("body", format!("not valid JSON for this request: {e}")))
    }
}

/// The body limit the participants set (kept here so the error can name it).
pub const DEFAULT_LIMIT_BYTES: usize = 256 * 1024;
