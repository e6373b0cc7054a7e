//! The daily registry of a provider's completed payments (CSV), and its reconciliation
//! against the provider's own `verify` list. A payment's day is its `accepted_at` day (UTC),
//! which processing sends as `txn_date`, so both sides count the same day.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use shared::error::ApiError;
use shared::money::Kopecks;

use super::ProcessingState;
use super::connectors::{self, ProviderPayment};
use super::store;
use crate::server::db;
use crate::server::{clock, csv};

/// One completed payment of the registry.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, crate::server::db::LiteRow,
)]
pub struct RegistryLine {
    pub id: i64,
    pub prv_txn: Option<String>,
    pub account: String,
    pub amount: i64,
    #[sqlx(try_from = "crate::server::clock::Stamp")]
    pub accepted_at: String,
}

pub async fn lines(
    state: &ProcessingState,
    provider_id: i64,
    day: &str,
) -> Result<Vec<RegistryLine>, sqlx::Error> {
    let (from, to) = clock::day_bounds(clock::parse_day(day), clock::parse_day(day));
    db::query_as(
        "SELECT id, prv_txn, account, amount, accepted_at FROM payments
         WHERE provider_id = $1 AND status = 'completed' AND accepted_at >= $2 AND accepted_at < $3 ORDER BY id",
    )
    .bind(provider_id)
    .bind(from)
    .bind(to)
    .fetch_all(&state.pool)
    .await
}

/// `YYYYMMDDHHMMSS` of a stored timestamp (what the provider received as `txn_date`).
fn txn_date(stamp: &str) -> String {
    stamp
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect()
}

/// The CSV: `txn_id;prv_txn;account;sum;txn_date` lines and a `TOTAL;<count>;<sum>` trailer.
/// Every cell goes through [`csv::cell`]: `prv_txn` comes from the provider and `account`
/// from a kiosk, so either may hold a separator, a quote or a formula. The total is summed
/// in `i128`, so it cannot wrap.
pub fn csv(lines: &[RegistryLine]) -> String {
    let mut out = csv::line(&["txn_id", "prv_txn", "account", "sum", "txn_date"]);
    let mut total = 0i128;
    for line in lines {
        total += i128::from(line.amount);
        out.push_str(&csv::line(&[
            line.id.to_string(),
            line.prv_txn.clone().unwrap_or_default(),
            line.account.clone(),
            Kopecks::new(line.amount).to_string(),
            txn_date(&line.accepted_at),
        ]));
    }
    // Amounts are non-negative kopecks; the same `R.KK` form as Kopecks' Display.
    let total = format!("{}.{:02}", total / 100, (total % 100).abs());
    out.push_str(&csv::line(&[
        "TOTAL".to_owned(),
        lines.len().to_string(),
        total,
    ]));
    out
}

fn day_of(file: &str) -> Result<String, ApiError> {
    let day = file.strip_suffix(".csv").unwrap_or(file);
    clock::parse_day(day)
        .map(|d| d.to_string())
        .ok_or_else(|| ApiError::field("date", "a date is YYYY-MM-DD"))
}

async fn get_csv(
    State(state): State<ProcessingState>,
    Path((provider_id, file)): Path<(i64, String)>,
) -> Result<impl IntoResponse, ApiError> {
    if !file.ends_with(".csv") {
        return Err(ApiError::NotFound {
            what: "registry".into(),
        });
    }
    let day = day_of(&file)?;
    store::provider(&state.pool, provider_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("provider {provider_id}"),
        })?;
    let body = csv(&lines(&state, provider_id, &day)
        .await
        .map_err(ApiError::internal)?);
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body))
}

pub use crate::processing::model::Discrepancies;

pub fn compare(
    provider_id: i64,
    date: &str,
    ours: &[RegistryLine],
    theirs: &[ProviderPayment],
) -> Discrepancies {
    let mine: BTreeMap<String, i64> = ours.iter().map(|l| (l.id.to_string(), l.amount)).collect();
    let their: BTreeMap<String, i64> = theirs
        .iter()
        .map(|p| (p.txn_id.clone(), p.amount.get()))
        .collect();
    let missing_at_provider: Vec<String> = mine
        .keys()
        .filter(|k| !their.contains_key(*k))
        .cloned()
        .collect();
    let missing_at_processing: Vec<String> = their
        .keys()
        .filter(|k| !mine.contains_key(*k))
        .cloned()
        .collect();
    let amount_differs: Vec<(String, Kopecks, Kopecks)> = mine
        .iter()
        .filter_map(|(k, a)| {
            their
                .get(k)
                .filter(|t| *t != a)
                .map(|t| (k.clone(), Kopecks::new(*a), Kopecks::new(*t)))
        })
        .collect();
    Discrepancies {
        provider_id,
        date: date.to_owned(),
        ok: missing_at_provider.is_empty()
            && missing_at_processing.is_empty()
            && amount_differs.is_empty(),
        ours: ours.len(),
        theirs: theirs.len(),
        missing_at_provider,
        missing_at_processing,
        amount_differs,
    }
}

pub async fn discrepancies(
    state: &ProcessingState,
    provider_id: i64,
    day: &str,
) -> Result<Discrepancies, ApiError> {
    let provider = store::provider(&state.pool, provider_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("provider {provider_id}"),
        })?;
    let ours = lines(state, provider_id, day)
        .await
        .map_err(ApiError::internal)?;
    let theirs = connectors::verify(
        &state.provider_client,
        &provider.endpoint(),
        &day.replace('-', ""),
    )
    .await
    .map_err(|detail| ApiError::ProviderUnavailable { detail })?;
    let found = compare(provider_id, day, &ours, &theirs);
    if found.ok {
        tracing::info!(
            provider = provider_id,
            day,
            payments = found.ours,
            "registry reconciled"
        );
    } else {
        tracing::warn!(
            provider = provider_id,
            day,
            ?found,
            "registry discrepancies"
        );
    }
    Ok(found)
}

async fn get_discrepancies(
    State(state): State<ProcessingState>,
    Path((provider_id, day)): Path<(i64, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let day = day_of(&day)?;
    Ok(Json(discrepancies(&state, provider_id, &day).await?))
}

pub fn router(state: ProcessingState) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/admin/v1/registry/{provider_id}/{file}", get(get_csv))
        .route(
            "/api/admin/v1/registry/{provider_id}/{day}/discrepancies",
            get(get_discrepancies),
        )
        .with_state(state)
}
