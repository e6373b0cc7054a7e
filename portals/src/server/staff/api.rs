//! The operator realm's staff endpoints, on every participant with a database
//! (docs/security.md "Staff roles"):
//!
//! * `GET /api/admin/v1/staff`, `POST /api/admin/v1/staff` `{"login","role"}` → 201 with the
//!   password once, `DELETE /api/admin/v1/staff/{login}` — disables it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use shared::auth::Principal;
use shared::error::ApiError;
use shared::extract::JsonBody;

use super::{StaffContext, StaffRole};

async fn list_staff(State(context): State<StaffContext>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        context.directory.list().await.map_err(ApiError::internal)?,
    ))
}

/// `POST /staff` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewStaff {
    login: String,
    role: String,
}

async fn create_staff(
    State(context): State<StaffContext>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<NewStaff>,
) -> Result<impl IntoResponse, ApiError> {
    let role = StaffRole::parse(&body.role)
        .ok_or_else(|| ApiError::field("role", "administrator, operator or viewer"))?;
    let issued = context
        .directory
        .create(&principal.login, &body.login, role)
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

async fn disable_staff(
    State(context): State<StaffContext>,
    Extension(principal): Extension<Principal>,
    Path(login): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        context.directory.disable(&principal.login, &login).await?,
    ))
}

pub fn router(context: StaffContext) -> Router {
    Router::new()
        .route("/api/admin/v1/staff", get(list_staff).post(create_staff))
        .route("/api/admin/v1/staff/{login}", delete(disable_staff))
        .with_state(context)
}
