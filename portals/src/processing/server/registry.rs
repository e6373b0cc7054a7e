//! The daily registry of a provider's completed payments (CSV), and its reconciliation
//! against the provider's own `verify` list.
//!
//! The registry's day is the processing center's local day (`--time-zone`, default
//! Europe/Moscow): a payment belongs to the day its `accepted_at` falls in on processing's
//! wall clock, the same day the processing reports count it in. The `verify` exchange keeps
//! its wire meaning (osmp.md): `date=YYYYMMDD` is a day of `txn_date`, which processing
//! sends in UTC. So for a local day processing asks `verify` for every UTC day the local
//! day touches (two for Moscow: the evening before from 21:00 and the day itself) and keeps
//! from the answers the payments whose acceptance falls inside the local day — both sides
//! are cut at the same instants, and a payment near midnight is never a false discrepancy,
//! whatever zone the provider keeps its own reports in. The CSV's `txn_date` stays what the
//! provider received in `pay` (UTC `YYYYMMDDHHMMSS`), so its lines match the provider's
//! records character for character.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use shared::error::ApiError;
use shared::money::Kopecks;
use time::{Date, OffsetDateTime};

use super::ProcessingState;
use super::connectors::{self, ProviderPayment};
use super::store;
use crate::server::clock::Stamp;
use crate::server::db;
use crate::server::period::Period;
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

/// The instants `[start, end)` of the local `day` in processing's zone.
fn day_bounds(state: &ProcessingState, day: Date) -> (Stamp, Stamp) {
    Period { from: day, to: day }.bounds(&state.zone)
}

pub async fn lines(
    state: &ProcessingState,
    provider_id: i64,
    day: Date,
) -> Result<Vec<RegistryLine>, sqlx::Error> {
    let (from, to) = day_bounds(state, day);
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

/// The UTC days (`YYYYMMDD`, `verify`'s `date`) that the instants `[from, to)` touch:
/// one for a UTC processing center, two for Moscow, three at most (a 25-hour day).
pub fn verify_days(from: Stamp, to: Stamp) -> Vec<String> {
    let last = (to.time() - time::Duration::microseconds(1)).date();
    std::iter::successors(Some(from.time().date()), |d| d.next_day())
        .take_while(|d| *d <= last)
        .map(|d| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day()))
        .collect()
}

/// `dd.mm.YYYY HH:MM:SS` of a `verify` answer's `date`, read as UTC (our `txn_date`).
fn verify_date(text: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[day].[month].[year] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(text.trim(), format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// The provider's payments of the local day `[from, to)`, from its answers for the UTC
/// days that day touches. A payment processing knows is placed by processing's own
/// `accepted_at` (`accepted`, every status, over the UTC days asked for); one processing
/// does not know, by the answer's `date`; one whose `date` cannot be read is kept, so that
/// it is reported rather than lost.
pub fn within_day(
    theirs: Vec<ProviderPayment>,
    accepted: &BTreeMap<String, Stamp>,
    from: Stamp,
    to: Stamp,
) -> Vec<ProviderPayment> {
    let mut seen = std::collections::BTreeSet::new();
    theirs
        .into_iter()
        .filter(|p| match accepted.get(&p.txn_id) {
            Some(at) => *at >= from && *at < to,
            None => p
                .date
                .as_deref()
                .and_then(verify_date)
                .is_none_or(|at| at >= from.time() && at < to.time()),
        })
        .filter(|p| seen.insert(p.txn_id.clone()))
        .collect()
}

/// When processing accepted each of this provider's payments over `[from, to)`, by id.
async fn accepted_between(
    state: &ProcessingState,
    provider_id: i64,
    from: Stamp,
    to: Stamp,
) -> Result<BTreeMap<String, Stamp>, sqlx::Error> {
    let rows: Vec<(i64, Stamp)> = db::query_as(
        "SELECT id, accepted_at FROM payments
         WHERE provider_id = $1 AND accepted_at >= $2 AND accepted_at < $3",
    )
    .bind(provider_id)
    .bind(from)
    .bind(to)
    .fetch_all(&state.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, at)| (id.to_string(), at))
        .collect())
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

fn day_of(file: &str) -> Result<Date, ApiError> {
    let day = file.strip_suffix(".csv").unwrap_or(file);
    clock::parse_day(day).ok_or_else(|| ApiError::field("date", "a date is YYYY-MM-DD"))
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
    let body = csv(&lines(&state, provider_id, day)
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
    day: Date,
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
    let (from, to) = day_bounds(state, day);
    let utc_days = verify_days(from, to);
    let mut theirs = Vec::new();
    for utc_day in &utc_days {
        theirs.extend(
            connectors::verify(&state.provider_client, &provider.endpoint(), utc_day)
                .await
                .map_err(|detail| ApiError::ProviderUnavailable { detail })?,
        );
    }
    // The instants the UTC days asked for cover: every payment their answers can hold.
    let asked_from = Stamp::day_start(from.time().date());
    let asked_to = Stamp::day_start(
        (to.time() - time::Duration::microseconds(1))
            .date()
            .next_day()
            .unwrap_or(Date::MAX),
    );
    let accepted = accepted_between(state, provider_id, asked_from, asked_to)
        .await
        .map_err(ApiError::internal)?;
    let theirs = within_day(theirs, &accepted, from, to);
    let day = day.to_string();
    let day = day.as_str();
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
    Ok(Json(discrepancies(&state, provider_id, day).await?))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Stamp {
        Stamp::parse(text).unwrap()
    }

    fn theirs(txn_id: &str, date: Option<&str>) -> ProviderPayment {
        ProviderPayment {
            txn_id: txn_id.to_owned(),
            prv_txn: "1".to_owned(),
            account: "9161234567".to_owned(),
            amount: Kopecks::new(100),
            date: date.map(str::to_owned),
        }
    }

    #[test]
    fn a_moscow_day_asks_verify_for_two_utc_days_a_utc_day_for_one() {
        let (from, to) = (at("2026-11-26T21:00:00Z"), at("2026-11-27T21:00:00Z"));
        assert_eq!(verify_days(from, to), ["20261126", "20261127"]);
        let (from, to) = (at("2026-11-27T00:00:00Z"), at("2026-11-28T00:00:00Z"));
        assert_eq!(verify_days(from, to), ["20261127"]);
        // New York's 27 November: 05:00Z to 05:00Z.
        let (from, to) = (at("2026-11-27T05:00:00Z"), at("2026-11-28T05:00:00Z"));
        assert_eq!(verify_days(from, to), ["20261127", "20261128"]);
    }

    #[test]
    fn the_answers_are_cut_at_processings_midnight() {
        let (from, to) = (at("2026-11-26T21:00:00Z"), at("2026-11-27T21:00:00Z"));
        let accepted = BTreeMap::from([
            ("1".to_owned(), at("2026-11-26T20:59:59.900000Z")),
            ("2".to_owned(), at("2026-11-26T21:00:00Z")),
        ]);
        let kept = within_day(
            vec![
                // Known: placed by processing's own acceptance, whatever the answer says.
                theirs("1", Some("26.11.2026 21:30:00")),
                theirs("2", Some("26.11.2026 20:00:00")),
                // Unknown to processing: by the answer's date, read as UTC.
                theirs("3", Some("26.11.2026 20:59:59")),
                theirs("4", Some("26.11.2026 21:00:00")),
                // Unreadable: kept, so that it is reported.
                theirs("5", Some("yesterday")),
                // The same payment in two answers counts once.
                theirs("2", Some("26.11.2026 21:00:00")),
            ],
            &accepted,
            from,
            to,
        );
        let ids: Vec<&str> = kept.iter().map(|p| p.txn_id.as_str()).collect();
        assert_eq!(ids, ["2", "4", "5"]);
    }
}
