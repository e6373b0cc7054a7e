//! Cash, as only the validator can bring it (issue #13): the bill table kiosk-shell read
//! from the unit, each stacked bill counted once into the session it was accepted for (or
//! kept as unassigned cash), and the most cash a session may still take.
//!
//! Nothing here trusts the kiosk page: bills arrive from kiosk-shell in the terminal realm,
//! and a bill counts only if its value is one of the unit's denominations.

use serde::{Deserialize, Serialize};
use shared::error::ApiError;
use shared::fee::FeeRule;
use shared::money::Kopecks;
use shared::wire::agent::AgentBalance;
use sqlx::SqlitePool;

use super::AgentState;
use super::store::{self, SessionRow};
use crate::server::clock;

/// The largest denomination a bill table may hold: 100 000 ₽. Russia's largest note is
/// 5 000 ₽; anything far above is a forged report, and the bound keeps every sum of bills
/// far from `i64` overflow.
pub const MAX_DENOMINATION: Kopecks = Kopecks::new(10_000_000);
/// Longest event id a bill may carry.
pub const MAX_EVENT_ID_LEN: usize = 64;
/// A CCNET bill table has 24 entries (types 0–23).
pub const BILL_TYPES: u8 = 24;
/// Longest fault or state text kiosk-shell may report.
pub const MAX_DETAIL_LEN: usize = 200;

fn db(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

/// One entry of the unit's bill table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denomination {
    pub bill_type: u8,
    pub amount: Kopecks,
}

/// Checks a reported table: known types, each once, positive bounded values.
pub fn validate_table(table: &[Denomination]) -> Result<(), ApiError> {
    let mut seen = [false; BILL_TYPES as usize];
    for d in table {
        let Some(slot) = seen.get_mut(usize::from(d.bill_type)) else {
            return Err(ApiError::field(
                "bill_table",
                format!("bill types are 0 to {}", BILL_TYPES - 1),
            ));
        };
        if std::mem::replace(slot, true) {
            return Err(ApiError::field(
                "bill_table",
                format!("bill type {} appears twice", d.bill_type),
            ));
        }
        if !d.amount.is_positive() || d.amount > MAX_DENOMINATION {
            return Err(ApiError::field(
                "bill_table",
                format!("a denomination is 0.01 to {MAX_DENOMINATION} RUB"),
            ));
        }
    }
    Ok(())
}

/// Replaces the stored bill table (one transaction).
pub async fn save_table(pool: &SqlitePool, table: &[Denomination]) -> Result<(), ApiError> {
    validate_table(table)?;
    let now = clock::now_text();
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("DELETE FROM validator_bill_table")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    for d in table {
        sqlx::query(
            "INSERT INTO validator_bill_table (bill_type, amount, reported_at) VALUES ($1, $2, $3)",
        )
        .bind(i64::from(d.bill_type))
        .bind(d.amount.get())
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

pub async fn table(pool: &SqlitePool) -> Result<Vec<Denomination>, ApiError> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT bill_type, amount FROM validator_bill_table ORDER BY bill_type")
            .fetch_all(pool)
            .await
            .map_err(db)?;
    Ok(rows
        .into_iter()
        .filter_map(|(t, a)| {
            Some(Denomination {
                bill_type: u8::try_from(t).ok()?,
                amount: Kopecks::new(a),
            })
        })
        .collect())
}

/// A stacked bill as kiosk-shell reports it from its journal.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StackedBill {
    pub event_id: String,
    pub amount: Kopecks,
    /// The session the validator was enabled for when it took the bill (`None`: none,
    /// e.g. a bill found in the stacker after a power cut of a restarted shell).
    #[serde(default)]
    pub session_id: Option<i64>,
    #[serde(default)]
    pub bill_type: Option<u8>,
    /// When the shell journaled it (RFC 3339; kept as reported, for the operator).
    #[serde(default)]
    pub stacked_at: Option<String>,
}

/// Why a counted bill is not in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unassigned {
    /// The shell named no session.
    NoSession,
    /// The named session is paid (or does not exist).
    SessionClosed,
    /// The bill would take the session above the provider's maximum.
    OverSessionMax,
}

impl Unassigned {
    fn as_str(self) -> &'static str {
        match self {
            Unassigned::NoSession => "no_session",
            Unassigned::SessionClosed => "session_closed",
            Unassigned::OverSessionMax => "over_session_max",
        }
    }

    fn parse(text: &str) -> Option<Unassigned> {
        [
            Unassigned::NoSession,
            Unassigned::SessionClosed,
            Unassigned::OverSessionMax,
        ]
        .into_iter()
        .find(|u| u.as_str() == text)
    }
}

/// What became of a reported bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillOutcome {
    pub event_id: String,
    /// `false` when this `event_id` had been counted before (nothing changed now).
    pub counted: bool,
    /// The session the bill is in, if any.
    pub session_id: Option<i64>,
    /// Why it is in no session.
    pub unassigned: Option<Unassigned>,
}

/// Counts a stacked bill once, in one transaction: into its session when that is open and
/// has room under the provider's maximum, otherwise as unassigned cash. A value that is not
/// a denomination of the reported bill table is refused (422) and writes nothing.
pub async fn credit(state: &AgentState, bill: &StackedBill) -> Result<BillOutcome, ApiError> {
    if bill.event_id.is_empty()
        || bill.event_id.len() > MAX_EVENT_ID_LEN
        || !bill
            .event_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::field(
            "event_id",
            format!("1 to {MAX_EVENT_ID_LEN} letters, digits, '-' or '_'"),
        ));
    }
    if bill.stacked_at.as_ref().is_some_and(|s| s.len() > 64) {
        return Err(ApiError::field("stacked_at", "an RFC 3339 time"));
    }
    let table = table(&state.pool).await?;
    if table.is_empty() {
        return Err(ApiError::BillTableUnknown);
    }
    let denomination = table.iter().find(|d| d.amount == bill.amount);
    let Some(denomination) = denomination else {
        return Err(ApiError::field(
            "amount",
            "not a denomination of the validator's bill table",
        ));
    };
    if let Some(t) = bill.bill_type
        && t != denomination.bill_type
        && !table
            .iter()
            .any(|d| d.bill_type == t && d.amount == bill.amount)
    {
        return Err(ApiError::field(
            "bill_type",
            "the bill table gives this type another value",
        ));
    }

    // IMMEDIATE: the transaction reads before it writes, and another writer committing
    // in between would fail the upgrade (SQLITE_BUSY_SNAPSHOT, a 500 to kiosk-shell);
    // taking the write lock first makes concurrent writers queue instead.
    let mut tx = state.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
    let existing: Option<(Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT session_id, unassigned FROM bills WHERE event_id = $1")
            .bind(&bill.event_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    if let Some((session_id, unassigned)) = existing {
        tx.rollback().await.map_err(db)?;
        return Ok(BillOutcome {
            event_id: bill.event_id.clone(),
            counted: false,
            session_id,
            unassigned: unassigned.as_deref().and_then(Unassigned::parse),
        });
    }
    // Where it goes, decided inside the transaction so that the session's sum is current.
    let placement = match bill.session_id {
        None => Err(Unassigned::NoSession),
        Some(id) => {
            let session: Option<(String, i64, i64)> = sqlx::query_as(
                "SELECT CASE WHEN s.abandoned_at IS NULL THEN s.status ELSE 'abandoned' END, s.max_amount,
                        COALESCE((SELECT SUM(b.amount) FROM bills b WHERE b.session_id = s.id), 0)
                 FROM sessions s WHERE s.id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            match session {
                Some((status, max, cash)) if status == "open" => {
                    match cash.checked_add(bill.amount.get()) {
                        Some(total) if total <= max => Ok(id),
                        _ => Err(Unassigned::OverSessionMax),
                    }
                }
                _ => Err(Unassigned::SessionClosed),
            }
        }
    };
    let (session_id, unassigned) = match placement {
        Ok(id) => (Some(id), None),
        Err(why) => (None, Some(why)),
    };
    let now = clock::now_text();
    sqlx::query(
        "INSERT INTO bills (event_id, session_id, amount, bill_type, stacked_at, received_at, unassigned)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&bill.event_id)
    .bind(session_id)
    .bind(bill.amount.get())
    .bind(i64::from(denomination.bill_type))
    .bind(bill.stacked_at.as_deref().unwrap_or(&now))
    .bind(&now)
    .bind(unassigned.map(Unassigned::as_str))
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    if unassigned.is_some() {
        // Cash in no session is unresolved cash: listed with a claim at once.
        super::claims::open_for_bill(&mut tx, &bill.event_id)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    match (session_id, unassigned) {
        (Some(id), _) => {
            tracing::info!(session = id, event_id = %bill.event_id, amount = %bill.amount, "bill stacked")
        }
        (None, why) => {
            tracing::warn!(event_id = %bill.event_id, amount = %bill.amount, reason = ?why, asked_session = ?bill.session_id,
                "bill kept as unassigned cash for the operator")
        }
    }
    Ok(BillOutcome {
        event_id: bill.event_id.clone(),
        counted: true,
        session_id,
        unassigned,
    })
}

/// A bill the operator has to reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct UnassignedBill {
    pub event_id: String,
    pub amount: i64,
    pub bill_type: Option<i64>,
    pub stacked_at: String,
    pub received_at: String,
    pub unassigned: String,
}

pub async fn unassigned(pool: &SqlitePool, limit: i64) -> Result<Vec<UnassignedBill>, ApiError> {
    sqlx::query_as(
        "SELECT event_id, amount, bill_type, stacked_at, received_at, unassigned FROM bills
         WHERE unassigned IS NOT NULL ORDER BY received_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db)
}

/// How much cash the validator may take now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// The session the cash goes into (the newest open one), if any.
    pub session_id: Option<i64>,
    /// The most cash, in kopecks, the session can still take (0: none).
    pub max_amount: Kopecks,
}

/// The terminal's current cash session: the newest open one.
pub async fn current_session(pool: &SqlitePool) -> Result<Option<SessionRow>, ApiError> {
    let id: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM sessions WHERE status = 'open' AND abandoned_at IS NULL ORDER BY id DESC LIMIT 1")
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    match id {
        Some((id,)) => store::session(pool, id).await.map_err(db),
        None => Ok(None),
    }
}

/// The validator's limit for the current session (see [`acceptable`]).
pub async fn limit(state: &AgentState) -> Result<Limit, ApiError> {
    let Some(session) = current_session(&state.pool).await? else {
        return Ok(Limit {
            session_id: None,
            max_amount: Kopecks::ZERO,
        });
    };
    Ok(Limit {
        session_id: Some(session.id),
        max_amount: acceptable(state, &session).await?,
    })
}

/// What the deposit must still cover: payments processing has not settled in the balance
/// the agent knows — queued or pending ones, and completed ones newer than that balance —
/// each with processing's fee (as processing answered it, or by its rule while queued).
async fn owed(
    pool: &SqlitePool,
    balance_at: Option<&str>,
    processing_fee: &FeeRule,
) -> Result<Kopecks, ApiError> {
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT amount, processing_fee FROM payments
         WHERE status IN ('queued', 'pending') OR (status = 'completed' AND updated_at > COALESCE($1, ''))",
    )
    .bind(balance_at)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut total = Kopecks::ZERO;
    for (amount, fee) in rows {
        let amount = Kopecks::new(amount);
        let fee = match fee {
            Some(fee) => Kopecks::new(fee.max(0)),
            None => processing_fee.fee(amount).unwrap_or(Kopecks::MAX),
        };
        total = total
            .checked_add(amount)
            .and_then(|t| t.checked_add(fee))
            .ok_or_else(|| ApiError::internal("outbox sum overflows"))?;
    }
    Ok(total)
}

/// The most cash `session` may still take: the provider's maximum less the cash already
/// in it, and no more than the agent's available deposit — less what the outbox still
/// owes — can pay out after the agent's fee and processing's fee. None at all for a
/// session its check does not vouch for: it could never be paid, so its cash would be
/// stranded.
pub async fn acceptable(state: &AgentState, session: &SessionRow) -> Result<Kopecks, ApiError> {
    if session.status != "open"
        || !store::session_vouched(&state.pool, session.id)
            .await
            .map_err(db)?
    {
        return Ok(Kopecks::ZERO);
    }
    let balance_state = store::sync_state(&state.pool, "balance")
        .await
        .map_err(db)?;
    let Some(balance) = balance_state
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<AgentBalance>(b).ok())
    else {
        return Ok(Kopecks::ZERO);
    };
    let processing_fee = balance.fee.unwrap_or(FeeRule::FREE);
    let owed = owed(
        &state.pool,
        balance_state.fetched_at.as_deref(),
        &processing_fee,
    )
    .await?;
    let deposit = balance
        .available
        .amount
        .checked_sub(owed)
        .unwrap_or(Kopecks::ZERO);
    let agent_fee = store::fee_rule(&state.pool).await.map_err(db)?;
    let total = max_cash(
        Kopecks::new(session.max_amount),
        deposit,
        &agent_fee,
        &processing_fee,
    );
    Ok(total
        .checked_sub(Kopecks::new(session.cash))
        .filter(|k| k.is_positive())
        .unwrap_or(Kopecks::ZERO))
}

/// The deposit a session with `cash` in it draws: the amount credited (cash less the
/// agent's fee) plus processing's fee on that amount. `None` if it cannot be computed.
fn drawn(cash: Kopecks, agent_fee: &FeeRule, processing_fee: &FeeRule) -> Option<Kopecks> {
    let fee = agent_fee.fee(cash).ok()?.min(cash);
    let amount = cash.checked_sub(fee)?;
    amount.checked_add(processing_fee.fee(amount).ok()?)
}

/// The largest total cash, at most `cap`, whose draw fits in `deposit`. The draw grows
/// with the cash (a fee below 100 % never takes back more than a kopeck added), so a
/// binary search finds it.
pub fn max_cash(
    cap: Kopecks,
    deposit: Kopecks,
    agent_fee: &FeeRule,
    processing_fee: &FeeRule,
) -> Kopecks {
    let fits = |cash: i64| {
        drawn(Kopecks::new(cash), agent_fee, processing_fee).is_some_and(|d| d <= deposit)
    };
    let (mut low, mut high) = (0_i64, cap.get().max(0));
    if fits(high) {
        return Kopecks::new(high);
    }
    // Invariant: fits(low) (zero cash draws nothing… or only fixed fees, then low stays 0).
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if fits(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    Kopecks::new(if fits(low) { low } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(percent_bp: u32, fixed: i64) -> FeeRule {
        FeeRule {
            percent_bp,
            fixed: Kopecks::new(fixed),
            ..FeeRule::FREE
        }
    }

    #[test]
    fn the_deposit_bounds_the_cash_after_both_fees() {
        // 2 % for the agent, 1 % + 1 ₽ for processing, 1000 ₽ deposit.
        let cash = max_cash(
            Kopecks::new(i64::MAX),
            Kopecks::new(100_000),
            &rule(200, 0),
            &rule(100, 100),
        );
        let drawn_now = drawn(cash, &rule(200, 0), &rule(100, 100)).unwrap();
        let drawn_next = drawn(
            cash.checked_add(Kopecks::new(1)).unwrap(),
            &rule(200, 0),
            &rule(100, 100),
        )
        .unwrap();
        assert!(drawn_now <= Kopecks::new(100_000));
        assert!(drawn_next > Kopecks::new(100_000));
        // The provider's maximum wins when it is lower.
        assert_eq!(
            max_cash(
                Kopecks::new(5_000),
                Kopecks::new(100_000),
                &rule(200, 0),
                &rule(100, 100)
            ),
            Kopecks::new(5_000)
        );
        assert_eq!(
            max_cash(
                Kopecks::new(5_000),
                Kopecks::ZERO,
                &FeeRule::FREE,
                &rule(0, 100)
            ),
            Kopecks::ZERO
        );
    }

    #[test]
    fn tables_are_bounded() {
        let ok = [Denomination {
            bill_type: 2,
            amount: Kopecks::new(1_000),
        }];
        assert!(validate_table(&ok).is_ok());
        for bad in [
            [Denomination {
                bill_type: 24,
                amount: Kopecks::new(1_000),
            }],
            [Denomination {
                bill_type: 1,
                amount: Kopecks::new(i64::MAX),
            }],
            [Denomination {
                bill_type: 1,
                amount: Kopecks::ZERO,
            }],
        ] {
            assert!(validate_table(&bad).is_err(), "{bad:?}");
        }
    }
}
