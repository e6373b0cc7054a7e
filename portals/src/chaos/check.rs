//! The checker of `paymesh chaos`: after the drain it reads every participant's database
//! — each terminal's (agent), processing's (SQLite or PostgreSQL), each provider's — and
//! counts what would be a broken promise. A payment is followed the whole way: the cash a
//! terminal counted, the payment its outbox sent, processing's payment, the provider's
//! credit.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sqlx::SqlitePool;

use crate::server::db::{self, Db};

/// What the checks found; every field but the first four must be zero.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    pub payments: i64,
    pub completed: i64,
    pub failed: i64,
    pub rejected: i64,
    /// Completed at processing (or shown "completed" on a receipt, or by the terminal) and
    /// not credited; a terminal's payment processing never saw after the drain.
    pub lost: i64,
    /// Credited twice at a provider; or credited while the terminal recorded the payment
    /// as refused (its cash goes back to the customer: paid out twice).
    pub doubled: i64,
    /// Credited at a provider with no completed processing payment behind it (or another
    /// amount); a processing payment no terminal sent.
    pub orphan_credits: i64,
    /// Payments still pending at processing or in a terminal's outbox, and cash a terminal
    /// counted that no payment carries (a customer who walked away from a session).
    pub pending_after_drain: i64,
    /// Ledger checks that failed, during the run and after it; a provider's account at
    /// processing that differs from what that provider credited; a terminal's payment
    /// whose cash is not its bills' or whose amount processing has otherwise.
    pub conservation_violations: i64,
    /// Payments the registry reconciliation (processing's day against the provider's
    /// `verify`) found missing on one side or with another sum.
    pub registry_discrepancies: i64,
}

impl Findings {
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.doubled == 0
            && self.orphan_credits == 0
            && self.pending_after_drain == 0
            && self.conservation_violations == 0
            && self.registry_discrepancies == 0
    }
}

/// A participant's SQLite file, read only.
pub async fn open_sqlite(file: &Path) -> Result<SqlitePool, String> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .read_only(true);
    SqlitePool::connect_with(options)
        .await
        .map_err(|e| format!("{}: {e}", file.display()))
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// processing's payment, keyed by (agent id, agent_txn_id).
struct Processed {
    status: String,
    amount: i64,
}

/// The databases to read: processing's (open), each provider's file by its id at
/// processing, each terminal's file by its agent id at processing. `told_completed` are
/// the payments (agent id, agent_txn_id) whose receipt said "completed".
pub struct Sources<'a> {
    pub processing: &'a Db,
    pub providers: &'a [(i64, &'a Path)],
    pub agents: &'a [(i64, &'a Path)],
    pub told_completed: &'a HashSet<(i64, String)>,
}

pub async fn check(sources: Sources<'_>) -> Result<Findings, String> {
    let failed = |e: sqlx::Error| e.to_string();
    let rows: Vec<(i64, i64, String, String, i64, i64)> = db::query_as(
        "SELECT id, agent_id, agent_txn_id, status, provider_id, amount FROM payments",
    )
    .fetch_all(sources.processing)
    .await
    .map_err(failed)?;
    let accounts: Vec<(String, i64)> =
        db::query_as("SELECT id, balance FROM ledger_accounts WHERE kind = 'provider'")
            .fetch_all(sources.processing)
            .await
            .map_err(failed)?;

    let mut f = Findings {
        payments: count(rows.len()),
        ..Findings::default()
    };
    // (provider, txn_id) → amount, of every completed processing payment.
    let mut owed: HashMap<(i64, String), i64> = HashMap::new();
    let mut processed: HashMap<(i64, String), Processed> = HashMap::new();
    for (id, agent_id, agent_txn_id, status, provider_id, amount) in rows {
        match status.as_str() {
            "completed" => {
                f.completed += 1;
                owed.insert((provider_id, id.to_string()), amount);
            }
            "failed" => f.failed += 1,
            "rejected" => f.rejected += 1,
            "pending" => f.pending_after_drain += 1,
            _ => {}
        }
        processed.insert((agent_id, agent_txn_id), Processed { status, amount });
    }
    for told in sources.told_completed {
        if processed.get(told).is_none_or(|p| p.status != "completed") {
            f.lost += 1;
        }
    }
    terminals(&sources, &processed, &mut f).await?;
    providers(&sources, &mut owed, &accounts, &mut f).await?;
    // What processing completed and no provider credited.
    f.lost += count(owed.len());
    Ok(f)
}

/// Each terminal's payments against processing's, and its cash against its payments.
async fn terminals(
    sources: &Sources<'_>,
    processed: &HashMap<(i64, String), Processed>,
    f: &mut Findings,
) -> Result<(), String> {
    let failed = |e: sqlx::Error| e.to_string();
    let mut sent: HashSet<(i64, String)> = HashSet::new();
    for (agent_id, file) in sources.agents {
        let pool = open_sqlite(file).await?;
        let payments: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT p.agent_txn_id, p.status, p.cash, p.amount,
                    COALESCE((SELECT SUM(b.amount) FROM bills b WHERE b.session_id = p.session_id), 0)
             FROM payments p",
        )
        .fetch_all(&pool)
        .await
        .map_err(failed)?;
        // Counted cash no payment carries: bills of unpaid sessions, unassigned bills.
        let (loose,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM bills b
             WHERE b.session_id IS NULL
                OR NOT EXISTS (SELECT 1 FROM payments p WHERE p.session_id = b.session_id)",
        )
        .fetch_one(&pool)
        .await
        .map_err(failed)?;
        pool.close().await;
        f.pending_after_drain += loose;
        for (agent_txn_id, status, cash, amount, bills) in payments {
            if cash != bills {
                f.conservation_violations += 1;
            }
            let key = (*agent_id, agent_txn_id);
            let at_processing = processed.get(&key);
            sent.insert(key);
            match (status.as_str(), at_processing) {
                ("queued" | "pending", _) => f.pending_after_drain += 1,
                (_, None) => f.lost += 1,
                ("completed", Some(p)) if p.status != "completed" => f.lost += 1,
                ("failed" | "rejected", Some(p)) if p.status == "completed" => f.doubled += 1,
                _ => {}
            }
            if at_processing.is_some_and(|p| p.amount != amount) {
                f.conservation_violations += 1;
            }
        }
    }
    // processing's payments of these terminals that no terminal sent.
    let ours: HashSet<i64> = sources.agents.iter().map(|(id, _)| *id).collect();
    f.orphan_credits += count(
        processed
            .keys()
            .filter(|key| ours.contains(&key.0) && !sent.contains(*key))
            .count(),
    );
    Ok(())
}

/// Each provider's credits against processing's completed payments and its ledger account.
async fn providers(
    sources: &Sources<'_>,
    owed: &mut HashMap<(i64, String), i64>,
    accounts: &[(String, i64)],
    f: &mut Findings,
) -> Result<(), String> {
    let mut credited_total: HashMap<i64, i64> = HashMap::new();
    for (provider_id, file) in sources.providers {
        let pool = open_sqlite(file).await?;
        let credits: Vec<(String, i64)> = sqlx::query_as("SELECT txn_id, amount FROM payments")
            .fetch_all(&pool)
            .await
            .map_err(|e| e.to_string())?;
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
    for (account, balance) in accounts {
        let provider_id = account
            .strip_prefix("provider:")
            .and_then(|id| id.parse::<i64>().ok());
        if let Some(id) = provider_id
            && credited_total.get(&id).copied().unwrap_or(0) != *balance
        {
            f.conservation_violations += 1;
        }
    }
    Ok(())
}
