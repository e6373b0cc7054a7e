//! The double-entry ledger. Accounts: `agent:<id>` (an agent's prepaid deposit),
//! `provider:<id>` (what is owed to a provider), `fees` (fee revenue) and `topups` (money
//! that came in from outside, so it is negative by the sum of all top-ups). Every entry's
//! postings sum to zero, so the balances of all accounts sum to zero.
//!
//! A reservation holds part of an agent's deposit for a pending payment: it lowers
//! `available` (balance − reserved) but is not a posting; it is released when the
//! payment completes (and is posted) or fails (and is voided).

use std::sync::OnceLock;

pub use crate::processing::model::{AccountRow, Check, Verification};

use crate::server::clock;
use crate::server::db::{self, Db, Tx};

pub const FEES: &str = "fees";
pub const TOPUPS: &str = "topups";

pub fn agent_account(agent_id: i64) -> String {
    format!("agent:{agent_id}")
}

pub fn provider_account(provider_id: i64) -> String {
    format!("provider:{provider_id}")
}

/// Opens an account (idempotent).
pub async fn open_account(
    conn: &mut Tx,
    id: &str,
    kind: &str,
    owner_id: i64,
) -> Result<(), sqlx::Error> {
    db::query("INSERT INTO ledger_accounts (id, kind, owner_id) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
        .bind(id)
        .bind(kind)
        .bind(owner_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The largest magnitude an account's balance may reach. Inputs are bounded far below
/// it (`Kopecks::MAX_INPUT`); reaching it means something got past them, and the entry is
/// refused rather than let SQLite's `balance + amount` overflow into a REAL.
pub const ACCOUNT_BALANCE_LIMIT: i64 = 1_000_000_000_000_000_000;

/// Writes one balanced entry and moves the balances, inside the caller's transaction.
/// Postings with a zero amount are left out. An entry that does not balance, or that would
/// take an account beyond [`ACCOUNT_BALANCE_LIMIT`], is an error: the caller's transaction
/// must then be rolled back (dropping it does), so nothing of it is written.
pub async fn post(
    conn: &mut Tx,
    kind: &str,
    reference: &str,
    postings: &[(&str, i64)],
) -> Result<i64, sqlx::Error> {
    let total = postings
        .iter()
        .try_fold(0i64, |sum, (_, amount)| sum.checked_add(*amount));
    if total != Some(0) {
        return Err(sqlx::Error::InvalidArgument(format!(
            "ledger entry {kind} {reference} does not balance: {postings:?}"
        )));
    }
    let moving: Vec<(&str, i64)> = postings
        .iter()
        .filter(|(_, amount)| *amount != 0)
        .copied()
        .collect();
    let mut accounts: Vec<&str> = moving.iter().map(|(account, _)| *account).collect();
    accounts.sort_unstable();
    accounts.dedup();
    if accounts.len() != moving.len() {
        return Err(sqlx::Error::InvalidArgument(format!(
            "ledger entry {kind} {reference} posts twice to one account: {postings:?}"
        )));
    }
    let (entry_id,): (i64,) = db::query_as(
        "INSERT INTO ledger_entries (kind, reference, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(kind)
    .bind(reference)
    .bind(clock::now())
    .fetch_one(&mut *conn)
    .await?;
    if moving.is_empty() {
        return Ok(entry_id);
    }
    // On PostgreSQL the accounts are locked first, in the order of their ids, the same
    // in every entry. The `UPDATE` below locks its rows in the order it meets them, and
    // that order follows where their current versions lie: two settlements of different
    // agents with one provider both move the provider's and the fees' rows, and could
    // lock the two in opposite orders and deadlock. (A settlement's agent row is taken
    // before any other by `release`; SQLite has one writer and no row locks.)
    let Entry {
        mut lock,
        mut insert,
        mut update,
    } = entry_statements(moving.len());
    if let Tx::Postgres(_) = conn {
        for account in &accounts {
            lock = lock.bind(*account);
        }
        lock.execute(&mut *conn).await?;
    }
    // Two statements for all postings, however many: every statement is a round trip to
    // the database, and a payment's settlement is on every terminal's critical path.
    // Their text is built from placeholders alone; every value is bound.
    insert = insert.bind(entry_id);
    update = update.bind(ACCOUNT_BALANCE_LIMIT);
    for (account, amount) in &moving {
        insert = insert.bind(*account).bind(*amount);
        update = update.bind(*account).bind(*amount);
    }
    insert.execute(&mut *conn).await?;
    // The bound is checked in the same statement, on integers: `balance` is at most the
    // limit in magnitude and so is each `amount` (a posting of a bounded input), so the
    // comparison itself cannot overflow.
    let moved = update.execute(&mut *conn).await?;
    if moved.rows_affected() != moving.len() as u64 {
        return Err(sqlx::Error::InvalidArgument(format!(
            "ledger entry {kind} {reference}: an account is missing or would pass its limit: {postings:?}"
        )));
    }
    Ok(entry_id)
}

/// Entries of up to this many postings have their statements' texts built once per
/// process: a payment's entry has two or three, and building them anew for every payment
/// was a dozen small strings each time.
const BUILT_ONCE_UP_TO: usize = 4;

/// The statements of an entry of `n` postings, without their values.
struct Entry {
    /// [`accounts_lock`] (PostgreSQL only).
    lock: db::query::Query,
    /// [`postings_insert`].
    insert: db::query::Query,
    /// [`balances_update`].
    update: db::query::Query,
}

fn entry_statements(n: usize) -> Entry {
    static BUILT: [OnceLock<[String; 3]>; BUILT_ONCE_UP_TO] =
        [const { OnceLock::new() }; BUILT_ONCE_UP_TO];
    let texts = || [accounts_lock(n), postings_insert(n), balances_update(n)];
    let [lock, insert, update] = match n.checked_sub(1).and_then(|k| BUILT.get(k)) {
        Some(built) => built
            .get_or_init(texts)
            .each_ref()
            .map(|t| db::query(t.as_str())),
        None => texts().map(|t| db::query(sqlx::AssertSqlSafe(t))),
    };
    Entry {
        lock,
        insert,
        update,
    }
}

/// `SELECT … FOR UPDATE` of `n` accounts (`$1`…`$n`) in the order of their ids: PostgreSQL
/// locks a locking query's rows after sorting them, so in that order.
fn accounts_lock(n: usize) -> String {
    let ids: Vec<String> = (1..=n).map(|k| format!("${k}")).collect();
    format!(
        "SELECT id FROM ledger_accounts WHERE id IN ({}) ORDER BY id FOR UPDATE",
        ids.join(", ")
    )
}

/// `INSERT INTO ledger_postings … VALUES ($1, $2, $3), ($1, $4, $5), …` for `n` postings
/// of entry `$1`.
fn postings_insert(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|k| format!("($1, ${}, ${})", 2 + 2 * k, 3 + 2 * k))
        .collect();
    format!(
        "INSERT INTO ledger_postings (entry_id, account_id, amount) VALUES {}",
        rows.join(", ")
    )
}

/// One `UPDATE` moving `n` accounts (`$2`, `$4`, … by `$3`, `$5`, …), each only within
/// ±`$1`; the caller checks that all `n` moved.
fn balances_update(n: usize) -> String {
    let cases: String = (0..n)
        .map(|k| format!(" WHEN ${} THEN CAST(${} AS BIGINT)", 2 + 2 * k, 3 + 2 * k))
        .collect();
    let ids: Vec<String> = (0..n).map(|k| format!("${}", 2 + 2 * k)).collect();
    let amount = format!("(CASE id{cases} END)");
    format!(
        "UPDATE ledger_accounts SET balance = balance + {amount}
         WHERE id IN ({ids}) AND ABS({amount}) <= $1 AND balance + {amount} BETWEEN -$1 AND $1",
        ids = ids.join(", ")
    )
}

pub async fn accounts(pool: &Db) -> Result<Vec<AccountRow>, sqlx::Error> {
    db::query_as("SELECT id, kind, owner_id, balance, reserved FROM ledger_accounts ORDER BY kind, owner_id, id")
        .fetch_all(pool)
        .await
}

/// A check's detail: what it found wrong, one item after another, or `when_none`.
fn listed<T>(found: &[T], when_none: &str, each: impl Fn(&T) -> String) -> String {
    if found.is_empty() {
        return when_none.to_owned();
    }
    found.iter().map(each).collect::<Vec<_>>().join("; ")
}

/// Verifies the ledger's invariants in one read transaction (a consistent snapshot).
pub async fn verify(pool: &Db) -> Result<Verification, sqlx::Error> {
    let mut tx = pool.snapshot().await?;
    let mut checks = Vec::new();
    let (sum,): (i64,) =
        db::query_as("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM ledger_accounts")
            .fetch_one(&mut tx)
            .await?;
    checks.push(Check {
        name: "sum_of_balances_is_zero".into(),
        ok: sum == 0,
        detail: format!("sum of all balances: {sum}"),
    });

    let drifted: Vec<(String, i64, i64)> = db::query_as(
        "SELECT a.id, a.balance, CAST(COALESCE((SELECT SUM(p.amount) FROM ledger_postings p WHERE p.account_id = a.id), 0) AS BIGINT) AS posted
         FROM ledger_accounts a
         WHERE a.balance <> COALESCE((SELECT SUM(p.amount) FROM ledger_postings p WHERE p.account_id = a.id), 0)",
    )
    .fetch_all(&mut tx)
    .await?;
    checks.push(Check {
        name: "balances_equal_postings".into(),
        ok: drifted.is_empty(),
        detail: listed(
            &drifted,
            "every balance equals the sum of its postings",
            |(id, b, p)| format!("{id}: balance {b}, postings {p}"),
        ),
    });

    let unbalanced: Vec<(i64, i64)> = db::query_as(
        "SELECT entry_id, CAST(SUM(amount) AS BIGINT) FROM ledger_postings GROUP BY entry_id HAVING SUM(amount) <> 0",
    )
    .fetch_all(&mut tx)
    .await?;
    checks.push(Check {
        name: "entries_balance".into(),
        ok: unbalanced.is_empty(),
        detail: listed(
            &unbalanced,
            "every entry's postings sum to zero",
            |(e, s)| format!("entry {e} sums to {s}"),
        ),
    });

    // A pending payment is its reservation: each account's `reserved` is what its agent's
    // pending payments hold (amount + processing's fee), and no other account reserves.
    let unmatched: Vec<(String, i64, i64)> = db::query_as(
        "SELECT a.id, a.reserved, CAST(COALESCE((SELECT SUM(p.amount + p.processing_fee) FROM payments p
                                                   WHERE p.status = 'pending' AND a.kind = 'agent' AND p.agent_id = a.owner_id), 0) AS BIGINT)
         FROM ledger_accounts a
         WHERE a.reserved <> COALESCE((SELECT SUM(p.amount + p.processing_fee) FROM payments p
                                       WHERE p.status = 'pending' AND a.kind = 'agent' AND p.agent_id = a.owner_id), 0)",
    )
    .fetch_all(&mut tx)
    .await?;
    checks.push(Check {
        name: "reserved_equals_pending_payments".into(),
        ok: unmatched.is_empty(),
        detail: listed(
            &unmatched,
            "every account's reserved equals its pending payments",
            |(id, reserved, pending)| {
                format!("{id}: reserved {reserved}, pending payments {pending}")
            },
        ),
    });

    let (overdrawn,): (i64,) = db::query_as(
        "SELECT COUNT(*) FROM ledger_accounts WHERE kind = 'agent' AND balance - reserved < 0",
    )
    .fetch_one(&mut tx)
    .await?;
    checks.push(Check {
        name: "no_agent_below_zero".into(),
        ok: overdrawn == 0,
        detail: format!("{overdrawn} agents with available below zero"),
    });
    tx.rollback().await?;
    Ok(Verification {
        ok: checks.iter().all(|c| c.ok),
        checks,
    })
}
