//! Processing's records as the API and the pages show them (both builds: the pages'
//! server functions send them to the browser).

use serde::{Deserialize, Serialize};
use shared::fee::FeeRule;
use shared::money::{Kopecks, Money};
use shared::wire::agent::{Extra, Field, PaymentState};

use crate::json_column::JsonColumn;

/// A provider contract as the API shows it: no password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderView {
    pub provider_id: i64,
    pub name: String,
    pub service_kind: String,
    pub endpoint_url: String,
    pub protocol: shared::wire::provider::PaymentProtocol,
    pub login: String,
    pub fields: Vec<Field>,
    pub min_amount: Kopecks,
    pub max_amount: Kopecks,
    pub active: bool,
    pub created_at: String,
}

/// Where an agent contract stands. A suspended agent's API answers `403 agent_suspended`;
/// payments it made before still settle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentStatus {
    Active,
    Suspended,
}

impl AgentStatus {
    /// The word stored in `agents.status` and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Suspended => "suspended",
        }
    }

    /// The status a stored word names; anything unknown is treated as suspended, so a
    /// damaged row never opens an agent's API.
    pub fn from_stored(word: &str) -> AgentStatus {
        match word {
            "active" => AgentStatus::Active,
            _ => AgentStatus::Suspended,
        }
    }
}

/// An agent as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    pub agent_id: i64,
    pub name: String,
    pub contract_number: String,
    pub login: String,
    pub fee: FeeRule,
    pub balance: Money,
    pub reserved: Money,
    pub available: Money,
    pub status: AgentStatus,
    /// `status == active`, kept for clients that read the older field.
    pub active: bool,
    pub created_at: String,
}

/// A login with its new password, shown once (`POST …/credentials`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedCredential {
    pub login: String,
    pub password: String,
}

/// A new agent contract with its one-time password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedAgent {
    pub agent_id: i64,
    pub contract_number: String,
    pub api_url: String,
    pub protocol: String,
    pub login: String,
    pub password: String,
    pub fee: FeeRule,
    pub balance: Money,
}

/// The answer of "test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTest {
    pub reached: bool,
    pub result: Option<u16>,
    pub answer: String,
}

/// A payment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct PaymentRow {
    pub id: i64,
    pub agent_id: i64,
    pub agent_txn_id: String,
    pub request_hash: String,
    pub provider_id: i64,
    pub account: String,
    pub cash: i64,
    pub agent_fee: i64,
    pub amount: i64,
    pub processing_fee: i64,
    pub status: String,
    pub result: Option<i64>,
    pub message: Option<String>,
    pub prv_txn: Option<String>,
    pub attempts: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::OptStamp"))]
    pub next_attempt_at: Option<String>,
    pub last_answer: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub accepted_at: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub created_at: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub updated_at: String,
    /// The payment fields after `account`, sent to the provider with every attempt.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub extra: JsonColumn<Extra>,
}

impl PaymentRow {
    /// What the agent is charged: the amount and processing's fee.
    pub fn total(&self) -> i64 {
        self.amount + self.processing_fee
    }

    /// The agent API's view, with the agent's balance at hand.
    pub fn state(&self, balance: Kopecks) -> PaymentState {
        let result = self.result.and_then(|r| u16::try_from(r).ok());
        // A failed or rejected payment is final for its agent_txn_id: no retry can help.
        let fatal = matches!(self.status.as_str(), "failed" | "rejected");
        PaymentState {
            payment_id: self.id,
            agent_txn_id: self.agent_txn_id.clone(),
            status: self.status.clone(),
            amount: Kopecks::new(self.amount),
            processing_fee: Kopecks::new(self.processing_fee),
            result,
            fatal,
            message: self.message.clone().unwrap_or_else(|| {
                match (self.status.as_str(), &self.last_answer) {
                    // The last attempt's outcome says why it is still pending (a provider
                    // down, an untrusted certificate…).
                    ("pending", Some(last)) => {
                        format!("Waiting for the provider's answer; last attempt: {last}")
                    }
                    ("pending", None) => "Waiting for the provider's answer".to_owned(),
                    _ => String::new(),
                }
            }),
            prv_txn: self.prv_txn.clone(),
            balance: Money::rub(balance),
        }
    }
}

/// An account as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct AccountRow {
    pub id: String,
    pub kind: String,
    pub owner_id: Option<i64>,
    pub balance: i64,
    pub reserved: i64,
}

/// One invariant and whether it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The ledger check: all invariants, each with what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// What reconciling a day's registry with the provider's `verify` list found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancies {
    pub provider_id: i64,
    pub date: String,
    pub ok: bool,
    pub ours: usize,
    pub theirs: usize,
    /// Completed here, unknown to the provider.
    pub missing_at_provider: Vec<String>,
    /// Credited by the provider, not completed here.
    pub missing_at_processing: Vec<String>,
    /// The same txn_id with different sums: (txn_id, ours, theirs).
    pub amount_differs: Vec<(String, Kopecks, Kopecks)>,
}
