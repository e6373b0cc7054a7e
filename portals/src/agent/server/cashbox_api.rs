//! The operator's API for the terminal's cash (`/api/admin/v1`, login `admin`; see
//! docs/agent.md "Unresolved cash" and "Encashment"): unresolved cash with its three
//! actions, and the cash box with its collections and their reports. Every action records
//! the operator's login, as the auth gate verified it.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Router};
use serde::Deserialize;
use shared::auth::Principal;
use shared::error::ApiError;
use shared::extract::JsonBody;

use super::AgentState;
use super::claims::{self, ClaimFilter, PayAgain};
use super::encashment::{self, NewEncashment};
use super::encashment_xlsx;
use crate::server::{listing, workbook};

/// `GET /unresolved-cash?state=&before=&limit=`.
#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: ClaimFilter,
    /// Keyset paging: only entries older than this id (as the next page's link says).
    before: Option<i64>,
    /// 1 to 500 (the default).
    limit: Option<i64>,
}

/// A `Link: <path?…&before=ID>; rel="next"` header when an older page follows.
fn next_page(path: &str, state: Option<&str>, next: Option<i64>, limit: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(before) = next {
        let mut params = vec![("before", before.to_string()), ("limit", limit.to_string())];
        if let Some(state) = state {
            params.insert(0, ("state", state.to_owned()));
        }
        if let Some(link) = listing::next_link(path, &params) {
            headers.insert(axum::http::header::LINK, link);
        }
    }
    headers
}

async fn list_unresolved(
    State(state): State<AgentState>,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = listing::checked_limit(query.limit, claims::LIST_LIMIT)?;
    let (rows, next) = claims::list(&state.pool, query.state, query.before, limit).await?;
    let state_name = query.state.as_str();
    Ok((
        next_page(
            "/api/admin/v1/unresolved-cash",
            Some(state_name),
            next,
            limit,
        ),
        Json(rows),
    ))
}

async fn get_unresolved(
    State(state): State<AgentState>,
    Path(code): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(claims::get(&state.pool, &code).await?))
}

async fn pay_again(
    State(state): State<AgentState>,
    Extension(principal): Extension<Principal>,
    Path(code): Path<String>,
    JsonBody(request): JsonBody<PayAgain>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        claims::pay_again(&state, &code, request, &principal.login).await?,
    ))
}

async fn refund(
    State(state): State<AgentState>,
    Extension(principal): Extension<Principal>,
    Path(code): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        claims::refund(&state.pool, &code, &principal.login).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteOff {
    reason: String,
}

async fn write_off(
    State(state): State<AgentState>,
    Extension(principal): Extension<Principal>,
    Path(code): Path<String>,
    JsonBody(request): JsonBody<WriteOff>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        claims::write_off(&state.pool, &code, &principal.login, &request.reason).await?,
    ))
}

async fn get_cash_box(State(state): State<AgentState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(encashment::cash_box(&state.pool).await?))
}

/// `GET /encashments?before=&limit=`.
#[derive(Deserialize)]
struct PageQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

async fn list_encashments(
    State(state): State<AgentState>,
    Query(query): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = listing::checked_limit(query.limit, encashment::LIST_LIMIT)?;
    let (rows, next) = encashment::list(&state.pool, query.before, limit).await?;
    Ok((
        next_page("/api/admin/v1/encashments", None, next, limit),
        Json(rows),
    ))
}

async fn record_encashment(
    State(state): State<AgentState>,
    Extension(principal): Extension<Principal>,
    JsonBody(request): JsonBody<NewEncashment>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(encashment::record(&state.pool, &request, &principal.login).await?),
    ))
}

async fn get_encashment(
    State(state): State<AgentState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(encashment::get(&state.pool, id).await?))
}

async fn encashment_report(
    State(state): State<AgentState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = encashment_xlsx::build(&state.pool, &state.zone, id).await?;
    Ok(workbook::xlsx_bytes(bytes, &encashment_xlsx::file_name(id)))
}

pub fn router(state: AgentState) -> Router {
    use axum::routing::{get, post};
    Router::new()
        .route("/api/admin/v1/unresolved-cash", get(list_unresolved))
        .route("/api/admin/v1/unresolved-cash/{code}", get(get_unresolved))
        .route(
            "/api/admin/v1/unresolved-cash/{code}/pay-again",
            post(pay_again),
        )
        .route("/api/admin/v1/unresolved-cash/{code}/refund", post(refund))
        .route(
            "/api/admin/v1/unresolved-cash/{code}/write-off",
            post(write_off),
        )
        .route("/api/admin/v1/cash-box", get(get_cash_box))
        .route(
            "/api/admin/v1/encashments",
            get(list_encashments).post(record_encashment),
        )
        .route("/api/admin/v1/encashments/{id}", get(get_encashment))
        .route(
            "/api/admin/v1/encashments/{id}/report.xlsx",
            get(encashment_report),
        )
        .with_state(state)
}
