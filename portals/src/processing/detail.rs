//! One payment in full, as the operator's API (`GET /api/admin/v1/payments/{id}`) and the
//! `/payments/{id}` page show it (both builds): the payment as the list has it, every pay
//! sent to the provider with its answer, the ledger postings it made and the audit
//! entries naming it. docs/processing.md "A payment in detail".

use serde::{Deserialize, Serialize};

use crate::processing::model::PaymentRow;
use crate::ui::staff::model::AuditEntry;

/// The most provider calls one detail lists (the newest): a payment waiting out a long
/// outage is retried once a minute, and the page stays readable.
pub const CALLS_SHOWN_MAX: i64 = 200;
/// The most audit entries one detail lists (the newest).
pub const AUDIT_SHOWN_MAX: i64 = 100;

/// A payment with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDetail {
    /// The fields of the list's row, at the top level of the JSON.
    #[serde(flatten)]
    pub payment: PaymentRow,
    pub agent_name: String,
    pub provider_name: String,
    /// The provider calls, oldest first (at most [`CALLS_SHOWN_MAX`], the newest).
    pub calls: Vec<ProviderCall>,
    /// How many calls were made in all (more than `calls` holds after a long outage).
    pub calls_total: i64,
    /// The double-entry postings of the payment's ledger entry (none until it completes).
    pub postings: Vec<Posting>,
    /// Audit entries whose object is this payment (`payment <id>`), oldest first.
    pub audit: Vec<AuditEntry>,
    /// Whether the operator's "retry now" can act: pending, waiting out its backoff
    /// after an attempt (not held by one running now).
    pub retry_possible: bool,
}

/// One call to the provider for the payment and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct ProviderCall {
    /// 1, 2, … as the payment's attempt counter stood.
    pub attempt: i64,
    /// `pay` (checks are made before a payment exists and are not linked to one).
    pub command: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub sent_at: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub answered_at: String,
    /// The provider's result code; `None` when no answer counted (see `error`).
    pub result: Option<i64>,
    /// The provider's comment, as it came.
    pub message: Option<String>,
    pub prv_txn: Option<String>,
    /// Why no answer counted: the transport error, or an answer that did not match.
    pub error: Option<String>,
    /// When the payment was due again after this call; `None` once it settled.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::OptStamp"))]
    pub next_attempt_at: Option<String>,
}

/// Which side of an account a posting is on. Balances are signed (server::ledger): a
/// negative amount takes from the account (a debit: the agent's deposit paying), a
/// positive one adds to it (a credit: owed to the provider, fee revenue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Debit,
    Credit,
}

/// One posting of the payment's ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub entry_id: i64,
    /// The ledger account: `agent:<id>`, `provider:<id>`, `fees`.
    pub account: String,
    /// Signed kopecks, as the ledger holds them; the postings of an entry sum to zero.
    pub amount: i64,
    pub side: Side,
    pub posted_at: String,
}

impl Posting {
    pub fn new(entry_id: i64, account: String, amount: i64, posted_at: String) -> Posting {
        let side = if amount < 0 {
            Side::Debit
        } else {
            Side::Credit
        };
        Posting {
            entry_id,
            account,
            amount,
            side,
            posted_at,
        }
    }

    /// The posting's size on its side (kopecks, never negative).
    pub fn size(&self) -> i64 {
        self.amount.saturating_abs()
    }
}

/// The debit and credit totals of `postings` (kopecks): equal when the entry balances.
pub fn totals(postings: &[Posting]) -> (i64, i64) {
    postings
        .iter()
        .fold((0i64, 0i64), |(debit, credit), p| match p.side {
            Side::Debit => (debit.saturating_add(p.size()), credit),
            Side::Credit => (debit, credit.saturating_add(p.size())),
        })
}

/// Why "retry now" did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryRefusal {
    /// The payment is settled (completed, failed or rejected): nothing to retry.
    NotPending,
    /// An attempt holds the payment now (the first one, or the retrier's), or it is due
    /// already: the retrier takes it without being asked.
    AttemptUnderway,
}

impl RetryRefusal {
    /// The reason in the API's words.
    pub fn describe(self) -> &'static str {
        match self {
            RetryRefusal::NotPending => "the payment is settled; there is nothing to retry",
            RetryRefusal::AttemptUnderway => {
                "an attempt is under way or due already; the retrier sends it without being asked"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_balanced_entry_has_equal_debits_and_credits() {
        let at = String::new;
        let postings = [
            Posting::new(1, "agent:1".into(), -10_150, at()),
            Posting::new(1, "provider:1".into(), 10_000, at()),
            Posting::new(1, "fees".into(), 150, at()),
        ];
        assert_eq!(postings[0].side, Side::Debit);
        assert_eq!(postings[1].side, Side::Credit);
        assert_eq!(totals(&postings), (10_150, 10_150));
        assert_eq!(totals(&[]), (0, 0));
    }
}
