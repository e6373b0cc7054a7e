//! The audit log's endpoints in the operator realm, on every participant with a database
//! (docs/operations.md "Audit log"):
//!
//! * `GET /api/admin/v1/audit?kind=&login=&object=&before_id=&limit=` — entries, newest first;
//! * `GET /api/admin/v1/audit.csv?…` — the same as the `/audit` page shows it, in the
//!   request's language, as CSV (`;`, formula cells neutralised).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use shared::error::ApiError;

use super::{self as audit, AuditKind, Filter};
use crate::server::db::Db;

/// Reads the audit filter from query parameters, naming every bad one.
pub fn filter_from(params: &HashMap<String, String>) -> Result<Filter, ApiError> {
    let text = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let number = |name: &str| -> Result<Option<i64>, ApiError> {
        text(name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::field(name, "a whole number"))
            })
            .transpose()
    };
    let kind = text("kind")
        .map(|k| {
            AuditKind::parse(k).ok_or_else(|| {
                ApiError::field(
                    "kind",
                    "an audit kind, e.g. tariff_changed (docs/operations.md)",
                )
            })
        })
        .transpose()?;
    Ok(Filter {
        kind,
        login: text("login").map(str::to_owned),
        object: text("object").map(str::to_owned),
        before_id: number("before_id")?,
        limit: number("limit")?,
    })
}

async fn get_audit(
    State(pool): State<Db>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = filter_from(&params)?;
    let entries = audit::list(&pool, &filter)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(entries))
}

/// The CSV is in the language of the page it is exported from (its `paymesh_lang`
/// cookie), Russian without one.
async fn get_audit_csv(
    State(pool): State<Db>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = filter_from(&params)?;
    let entries = audit::list(&pool, &filter)
        .await
        .map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        audit::to_csv(&entries, crate::server::ui::lang_of(&headers)),
    ))
}

pub fn router(pool: Db) -> Router {
    Router::new()
        .route("/api/admin/v1/audit", get(get_audit))
        .route("/api/admin/v1/audit.csv", get(get_audit_csv))
        .with_state(pool)
}
