//! `GET /healthz` (public), `GET /metrics` and `GET /api/admin/v1/participant` (operator).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use shared::metrics::HttpMetrics;

use crate::role::Role;
use crate::server::db::{self, Db};

#[derive(Clone)]
pub struct HealthState {
    pub role: Role,
    pub name: Option<String>,
    pub started_at: String,
    pub pool: Option<Db>,
    pub metrics: Arc<HttpMetrics>,
}

/// 200 while the participant can serve (its database answers), 503 otherwise.
async fn healthz(State(state): State<HealthState>) -> impl IntoResponse {
    if let Some(pool) = &state.pool
        && let Err(e) = db::query("SELECT 1").execute(pool).await
    {
        tracing::error!(error = %e, "health check: database does not answer");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "role": state.role.as_str()})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"status": "ok", "role": state.role.as_str()})),
    )
}

async fn metrics(State(state): State<HealthState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn participant(State(state): State<HealthState>) -> impl IntoResponse {
    Json(json!({
        "role": state.role.as_str(),
        "name": state.name,
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": state.started_at,
    }))
}

pub fn router(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/admin/v1/participant", get(participant))
        .with_state(state)
}
