//! Keeping the terminal's picture of processing fresh: the catalog (every 30 minutes by
//! default, with ETag) and the balance (every 5 minutes). A failed sync keeps the last good
//! data in use and records the error; the status shows how old the data is. The status
//! also says whether the terminal is blocked, and why.

use std::time::Duration;

use shared::money::{Kopecks, Money};
use shared::wire::agent::{AgentBalance, Catalog};

pub use crate::agent::model::Status;

use super::AgentState;
use super::processing;
use super::store;

/// How long to wait between catalog and balance refreshes, unless told otherwise.
pub const CATALOG_INTERVAL: Duration = Duration::from_secs(30 * 60);
pub const BALANCE_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Refreshes the catalog; `Ok(true)` when it changed.
pub async fn sync_catalog(state: &AgentState) -> Result<bool, String> {
    let Some(contract) = store::contract(&state.pool)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err("no contract with processing".into());
    };
    let known = store::sync_state(&state.pool, "catalog")
        .await
        .map_err(|e| e.to_string())?;
    let outcome = processing::catalog(&state.client, &contract, known.etag.as_deref()).await;
    match outcome {
        Ok(Some((catalog, etag))) => {
            let body = serde_json::to_string(&catalog).map_err(|e| e.to_string())?;
            store::sync_succeeded(&state.pool, "catalog", Some(&body), etag.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(version = %catalog.version, providers = catalog.providers.len(), "catalog synced");
            Ok(true)
        }
        Ok(None) => {
            store::sync_succeeded(&state.pool, "catalog", None, None)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!("catalog unchanged");
            Ok(false)
        }
        Err(e) => {
            tracing::warn!(error = %e, "catalog sync failed; the last catalog stays in use");
            let _ = store::sync_failed(&state.pool, "catalog", &e.to_string()).await;
            Err(e.to_string())
        }
    }
}

/// Refreshes the balance.
pub async fn sync_balance(state: &AgentState) -> Result<AgentBalance, String> {
    let Some(contract) = store::contract(&state.pool)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err("no contract with processing".into());
    };
    match processing::balance(&state.client, &contract).await {
        Ok(balance) => {
            remember_balance(state, &balance).await;
            tracing::info!(available = %balance.available.amount, blocked = balance.blocked, "balance synced");
            Ok(balance)
        }
        Err(e) => {
            tracing::warn!(error = %e, "balance sync failed; the last balance stays in use");
            let _ = store::sync_failed(&state.pool, "balance", &e.to_string()).await;
            Err(e.to_string())
        }
    }
}

pub async fn remember_balance(state: &AgentState, balance: &AgentBalance) {
    if let Ok(body) = serde_json::to_string(balance)
        && let Err(e) = store::sync_succeeded(&state.pool, "balance", Some(&body), None).await
    {
        tracing::error!(error = %e, "cannot store the balance");
    }
}

/// Runs forever: refreshes each kind of data when it is due.
pub async fn run(state: AgentState) {
    let mut last_catalog: Option<tokio::time::Instant> = None;
    let mut last_balance: Option<tokio::time::Instant> = None;
    while !state.pool.is_closed() {
        let due = |last: Option<tokio::time::Instant>, every: Duration| {
            last.is_none_or(|t| t.elapsed() >= every)
        };
        let has_contract = matches!(store::contract(&state.pool).await, Ok(Some(_)));
        if has_contract && due(last_catalog, state.catalog_interval) {
            let _ = sync_catalog(&state).await;
            last_catalog = Some(tokio::time::Instant::now());
        }
        if has_contract && due(last_balance, state.balance_interval) {
            let _ = sync_balance(&state).await;
            last_balance = Some(tokio::time::Instant::now());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

pub fn cached_catalog(state: &store::SyncState) -> Option<Catalog> {
    state
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
}

pub async fn status(state: &AgentState) -> Result<Status, sqlx::Error> {
    let contract = store::contract(&state.pool).await?;
    let catalog_state = store::sync_state(&state.pool, "catalog").await?;
    let balance_state = store::sync_state(&state.pool, "balance").await?;
    let catalog = cached_catalog(&catalog_state);
    let balance: Option<AgentBalance> = balance_state
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok());
    let mut reasons = Vec::new();
    if contract.is_none() {
        reasons.push("no_contract".to_owned());
    }
    if catalog.as_ref().is_none_or(|c| c.providers.is_empty()) {
        reasons.push("empty_catalog".to_owned());
    }
    if balance
        .as_ref()
        .is_none_or(|b| !b.available.amount.is_positive())
    {
        reasons.push("no_funds".to_owned());
    }
    if balance_state.last_error.as_deref() == Some(processing::SUSPENDED) {
        reasons.push("suspended".to_owned());
    }
    if state
        .validator_fault
        .lock()
        .map(|f| f.is_some())
        .unwrap_or(false)
    {
        reasons.push("validator_fault".to_owned());
    }
    Ok(Status {
        balance: balance
            .as_ref()
            .map(|b| b.balance)
            .unwrap_or(Money::rub(Kopecks::ZERO)),
        available: balance
            .as_ref()
            .map(|b| b.available)
            .unwrap_or(Money::rub(Kopecks::ZERO)),
        blocked: !reasons.is_empty(),
        blocked_reasons: reasons,
        contract_number: contract.map(|c| c.contract_number),
        catalog_version: catalog.map(|c| c.version),
        catalog_fetched_at: catalog_state.fetched_at,
        catalog_error: catalog_state.last_error,
        balance_fetched_at: balance_state.fetched_at,
        balance_error: balance_state.last_error,
        outbox_pending: store::outbox_pending(&state.pool).await?,
    })
}
