//! The operator's report routes (wire.md "Provider"):
//!
//! * `GET /api/admin/v1/subscribers/{account}/report.xlsx?from=&to=` — the workbook;
//! * `POST /api/admin/v1/subscribers/{account}/report` `{"from","to"}` — e-mails it to the
//!   subscriber: `202` with the queued letter;
//! * `GET /api/admin/v1/mail[?account=]`, `GET /api/admin/v1/mail/{id}`,
//!   `POST /api/admin/v1/mail/{id}/retry` — the outbox, what failed and why, send again.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::error::ApiError;
use shared::extract::JsonBody;

use super::ProviderState;
use super::mail::report_letter;
use super::mail_outbox;
use super::report::{MAX_PERIOD_DAYS, SubscriberReport};
use super::report_xlsx;
use crate::provider::model::OutgoingMailView;
use crate::server::period::Period;
use crate::server::workbook;

/// Letters a list answers at most.
pub const MAX_LIST_ROWS: i64 = 500;

/// `?from=&to=` or `{"from","to"}`.
#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl PeriodQuery {
    pub fn period(&self) -> Result<Period, ApiError> {
        Period::parse(self.from.as_deref(), self.to.as_deref(), MAX_PERIOD_DAYS)
    }
}

/// The report's data and its workbook.
pub async fn workbook(
    state: &ProviderState,
    account: &str,
    period: Period,
) -> Result<(SubscriberReport, Vec<u8>), ApiError> {
    let report =
        SubscriberReport::load(&state.pool, &state.name, account, period, &state.zone).await?;
    let bytes = report_xlsx::build(report.clone()).await?;
    Ok((report, bytes))
}

async fn get_report(
    State(state): State<ProviderState>,
    Path(account): Path<String>,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let (report, bytes) = workbook(&state, &account, query.period()?).await?;
    Ok(workbook::xlsx_bytes(bytes, &report.file_name()))
}

/// Builds the report and queues it to the subscriber's e-mail; the outbox worker sends it.
pub async fn mail_report(
    state: &ProviderState,
    account: &str,
    period: Period,
) -> Result<OutgoingMailView, ApiError> {
    if !state.mailer.is_configured() {
        return Err(ApiError::field(
            "smtp_url",
            "this provider has no mail server; start it with --smtp-url",
        ));
    }
    let (report, bytes) = workbook(state, account, period).await?;
    let letter = report_letter(&report, bytes).map_err(ApiError::internal)?;
    let id = mail_outbox::enqueue(&state.pool, report.subscriber.id, &letter)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(mail = id, account, period = %report.period.slug(), "report queued for e-mail");
    state.mailer.wake.notify_one();
    mail_outbox::get(&state.pool, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("a queued letter vanished"))
}

async fn post_report(
    State(state): State<ProviderState>,
    Path(account): Path<String>,
    JsonBody(body): JsonBody<PeriodQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let mail = mail_report(&state, &account, body.period()?).await?;
    Ok((StatusCode::ACCEPTED, Json(mail)))
}

#[derive(Deserialize)]
struct MailFilter {
    account: Option<String>,
}

async fn list_mail(
    State(state): State<ProviderState>,
    Query(filter): Query<MailFilter>,
) -> Result<impl IntoResponse, ApiError> {
    let account = filter.account.as_deref().filter(|a| !a.is_empty());
    Ok(Json(
        mail_outbox::list(&state.pool, account, MAX_LIST_ROWS)
            .await
            .map_err(ApiError::internal)?,
    ))
}

async fn mail_or_404(state: &ProviderState, id: i64) -> Result<OutgoingMailView, ApiError> {
    mail_outbox::get(&state.pool, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("e-mail {id}"),
        })
}

async fn get_mail(
    State(state): State<ProviderState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(mail_or_404(&state, id).await?))
}

/// Sends a queued or failed letter again now.
pub async fn retry(state: &ProviderState, id: i64) -> Result<OutgoingMailView, ApiError> {
    mail_or_404(state, id).await?;
    if !mail_outbox::retry_now(&state.pool, id)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(ApiError::field("mail_id", "this e-mail was already sent"));
    }
    tracing::info!(mail = id, "e-mail retry asked for by the operator");
    state.mailer.wake.notify_one();
    mail_or_404(state, id).await
}

async fn post_retry(
    State(state): State<ProviderState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::ACCEPTED, Json(retry(&state, id).await?)))
}

pub fn router(state: ProviderState) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/api/admin/v1/subscribers/{account}/report.xlsx",
            get(get_report),
        )
        .route(
            "/api/admin/v1/subscribers/{account}/report",
            post(post_report),
        )
        .route("/api/admin/v1/mail", get(list_mail))
        .route("/api/admin/v1/mail/{id}", get(get_mail))
        .route("/api/admin/v1/mail/{id}/retry", post(post_retry))
        .with_state(state)
}
