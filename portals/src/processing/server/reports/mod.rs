//! The processing center's workbooks (wire.md "Processing"), for a period and for one
//! provider, one agent or all:
//!
//! * `GET /api/admin/v1/reports/summary.xlsx?from=&to=[&provider_id=][&agent_id=]` —
//!   counts and sums per day, per provider and per agent, fees, and a chart ([`summary`]);
//! * `GET /api/admin/v1/reports/transactions.xlsx?from=&to=[&provider_id=][&agent_id=]` —
//!   every payment, streamed from the database into a constant-memory sheet
//!   ([`transactions`]).
//!
//! A payment belongs to the day it was accepted (`accepted_at`), the day being local to
//! the processing center's zone (`--time-zone`, default Europe/Moscow), as in the
//! registry: `from=2026-12-03` starts at 2026-12-02T21:00Z in Moscow. The workbooks show
//! times on the same wall clock and name the zone in their heading.

pub mod summary;
pub mod transactions;

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use shared::error::ApiError;
use shared::zone::Zone;

use super::ProcessingState;
use super::store;
use crate::server::clock::Stamp;
use crate::server::db::{self, Db};
use crate::server::period::Period;
use crate::server::workbook::{self, ReportError};

/// The longest period of a summary, in days (its per-day sheet has one row a day).
pub const MAX_SUMMARY_DAYS: i64 = 3_660;
/// The longest period of a transactions workbook: it streams, so only sanity bounds it.
pub const MAX_TRANSACTIONS_DAYS: i64 = 36_600;

/// `?from=&to=&provider_id=&agent_id=` as received.
#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub provider_id: Option<String>,
    pub agent_id: Option<String>,
}

/// Which payments a report covers.
#[derive(Debug, Clone)]
pub struct ReportFilter {
    pub period: Period,
    pub provider_id: Option<i64>,
    pub agent_id: Option<i64>,
    /// Whose days `period` names and whose clock the sheets show: processing's.
    pub zone: Zone,
}

impl ReportFilter {
    /// `(from, to)` bounds of stored timestamps, then the ids (NULL meaning all).
    pub fn binds(&self) -> (Stamp, Stamp, Option<i64>, Option<i64>) {
        let (from, to) = self.period.bounds(&self.zone);
        (from, to, self.provider_id, self.agent_id)
    }

    /// `summary-2026-11-01_2026-11-30-provider-3.xlsx`.
    pub fn file_name(&self, kind: &str) -> String {
        let mut name = format!("{kind}-{}", self.period.slug());
        if let Some(id) = self.provider_id {
            name.push_str(&format!("-provider-{id}"));
        }
        if let Some(id) = self.agent_id {
            name.push_str(&format!("-agent-{id}"));
        }
        name + ".xlsx"
    }
}

fn optional_id(field: &str, text: Option<&str>) -> Result<Option<i64>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::field(field, "an id is a whole number")),
    }
}

/// Checks the query and that the provider and agent it names exist.
pub async fn filter(
    pool: &Db,
    zone: &Zone,
    query: &ReportQuery,
    max_days: i64,
) -> Result<ReportFilter, ApiError> {
    let period = Period::parse(query.from.as_deref(), query.to.as_deref(), max_days)?;
    let provider_id = optional_id("provider_id", query.provider_id.as_deref())?;
    let agent_id = optional_id("agent_id", query.agent_id.as_deref())?;
    if let Some(id) = provider_id
        && store::provider(pool, id)
            .await
            .map_err(ApiError::internal)?
            .is_none()
    {
        return Err(ApiError::NotFound {
            what: format!("provider {id}"),
        });
    }
    if let Some(id) = agent_id
        && store::agent(pool, id)
            .await
            .map_err(ApiError::internal)?
            .is_none()
    {
        return Err(ApiError::NotFound {
            what: format!("agent {id}"),
        });
    }
    Ok(ReportFilter {
        period,
        provider_id,
        agent_id,
        zone: zone.clone(),
    })
}

/// Provider and agent names by id, for the sheets' name columns.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub providers: BTreeMap<i64, String>,
    pub agents: BTreeMap<i64, String>,
}

impl Names {
    pub async fn load(pool: &Db) -> Result<Names, ReportError> {
        let providers: Vec<(i64, String)> = db::query_as("SELECT id, name FROM providers")
            .fetch_all(pool)
            .await?;
        let agents: Vec<(i64, String)> = db::query_as("SELECT id, name FROM agents")
            .fetch_all(pool)
            .await?;
        Ok(Names {
            providers: providers.into_iter().collect(),
            agents: agents.into_iter().collect(),
        })
    }

    pub fn provider(&self, id: i64) -> &str {
        self.providers.get(&id).map_or("", String::as_str)
    }

    pub fn agent(&self, id: i64) -> &str {
        self.agents.get(&id).map_or("", String::as_str)
    }

    /// «Провайдер: №3 Megafon» or «Провайдер: все», for a report's heading.
    pub fn scope(&self, filter: &ReportFilter) -> [(&'static str, String); 2] {
        let one = |id: Option<i64>, name: &dyn Fn(i64) -> String| {
            id.map_or_else(|| "все".to_owned(), |id| format!("№{id} {}", name(id)))
        };
        [
            (
                "Провайдер",
                one(filter.provider_id, &|id| self.provider(id).to_owned()),
            ),
            (
                "Агент",
                one(filter.agent_id, &|id| self.agent(id).to_owned()),
            ),
        ]
    }
}

async fn get_summary(
    State(state): State<ProcessingState>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let filter = filter(&state.pool, &state.zone, &query, MAX_SUMMARY_DAYS).await?;
    let file = summary::build(state.pool.clone(), filter.clone()).await?;
    Ok(workbook::xlsx_file(file, &filter.file_name("summary")).await?)
}

async fn get_transactions(
    State(state): State<ProcessingState>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let filter = filter(&state.pool, &state.zone, &query, MAX_TRANSACTIONS_DAYS).await?;
    let file = transactions::build(state.pool.clone(), filter.clone()).await?;
    Ok(workbook::xlsx_file(file, &filter.file_name("transactions")).await?)
}

pub fn router(state: ProcessingState) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/admin/v1/reports/summary.xlsx", get(get_summary))
        .route(
            "/api/admin/v1/reports/transactions.xlsx",
            get(get_transactions),
        )
        .with_state(state)
}
