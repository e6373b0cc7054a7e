//! The checker of `paymesh chaos`: after the drain it reads every participant's database
//! (processing's, each provider's) and counts what would be a broken promise.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sqlx::SqlitePool;

/// What the checks found; every field but the first four must be zero.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    pub payments: i64,
    pub completed: i64,
    pub failed: i64,
    pub rejected: i64,
    /// Completed at processing (or told "completed" to the terminal) and not credited.
    pub lost: i64,
    /// Credited twice at a provider.
    pub doubled: i64,
    /// Credited at a provider with no completed processing payment behind it (or another
    /// amount).
    pub orphan_credits: i64,
    pub pending_after_drain: i64,
    /// Ledger checks that failed, during the run and after it, and a provider's account
    /// at processing that differs from what that provider credited.
    pub conservation_violations: i64,
}

impl Findings {
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.doubled == 0
            && self.orphan_credits == 0
            && self.pending_after_drain == 0
            && self.conservation_violations == 0
    }
}

async fn open(file: &Path) -> Result<SqlitePool, String> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .read_only(true);
    SqlitePool::connect_with(options)
        .await
        .map_err(|e| format!("{}: {e}", file.display()))
}

/// Reads processing's database and each provider's (`(provider_id, file)`), given the
/// payments the terminal side was told were completed (by `agent_txn_id`).
pub async fn check(
    processing: &Path,
    providers: &[(i64, &Path)],
    told_completed: &HashSet<String>,
) -> Result<Findings, String> {
    let failed = |e: sqlx::Error| e.to_string();
    let pool = open(processing).await?;
    let rows: Vec<(i64, String, String, i64, i64)> =
        sqlx::query_as("SELECT id, agent_txn_id, status, provider_id, amount FROM payments")
            .fetch_all(&pool)
            .await
            .map_err(failed)?;
    let accounts: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, balance FROM ledger_accounts WHERE kind = 'provider'")
            .fetch_all(&pool)
            .await
            .map_err(failed)?;
    pool.close().await;

    let mut f = Findings {
        payments: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        ..Findings::default()
    };
    // (provider, txn_id) → amount, of every completed processing payment.
    let mut owed: HashMap<(i64, String), i64> = HashMap::new();
    for (id, agent_txn_id, status, provider_id, amount) in &rows {
        match status.as_str() {
            "completed" => {
                f.completed += 1;
                owed.insert((*provider_id, id.to_string()), *amount);
            }
            "failed" => f.failed += 1,
            "rejected" => f.rejected += 1,
            "pending" => f.pending_after_drain += 1,
            _ => {}
        }
        if told_completed.contains(agent_txn_id) && status != "completed" {
            f.lost += 1;
        }
    }
    let known: HashSet<&String> = rows.iter().map(|(_, txn, ..)| txn).collect();
    f.lost += i64::try_from(told_completed.iter().filter(|t| !known.contains(t)).count())
        .unwrap_or(i64::MAX);

    let mut credited_total: HashMap<i64, i64> = HashMap::new();
    for (provider_id, file) in providers {
        let pool = open(file).await?;
        let credits: Vec<(String, i64)> = sqlx::query_as("SELECT txn_id, amount FROM payments")
            .fetch_all(&pool)
            .await
            .map_err(failed)?;
        pool.close().await;
        let mut seen = HashSet::new();
        for (txn_id, amount) in credits {
            *credited_total.entry(*provider_id).or_default() += amount;
            if !seen.insert(txn_id.clone()) {
                f.doubled += 1;
                continue;
            }
            match owed.remove(&(*provider_id, txn_id)) {
                Some(expected) if expected == amount => {}
                _ => f.orphan_credits += 1,
            }
        }
    }
    // What processing completed and no provider credited.
    f.lost += i64::try_from(owed.len()).unwrap_or(i64::MAX);
    for (account, balance) in accounts {
        let provider_id = account
            .strip_prefix("provider:")
            .and_then(|id| id.parse::<i64>().ok());
        if let Some(id) = provider_id
            && credited_total.get(&id).copied().unwrap_or(0) != balance
        {
            f.conservation_violations += 1;
        }
    }
    Ok(f)
}
