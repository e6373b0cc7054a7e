//! JSON bodies of processing's agent API, `/api/agent/v1` (wire.md "Processing"): what a
//! terminal's back end sends and receives.

use serde::{Deserialize, Serialize};

use crate::money::{Kopecks, Money};

/// The protocol an agent contract speaks.
pub const AGENT_PROTOCOL: &str = "paymesh-agent/1";

/// A payment field: its name, what the kiosk shows, and the regex the whole value must match.
pub use crate::fields::Field;

/// The payment fields after `account`, by name (wire.md `extra`).
pub type Extra = std::collections::BTreeMap<String, String>;

/// One provider in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogProvider {
    pub provider_id: i64,
    pub name: String,
    pub service_kind: String,
    pub fields: Vec<Field>,
    pub min_amount: Kopecks,
    pub max_amount: Kopecks,
}

/// `GET /catalog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub version: String,
    pub providers: Vec<CatalogProvider>,
}

/// `GET /balance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentBalance {
    pub agent_id: i64,
    pub balance: Money,
    pub reserved: Money,
    pub available: Money,
    pub blocked: bool,
    /// Processing's fee rule for this agent, so that a terminal can tell how much cash its
    /// deposit can still cover (`amount + processing_fee ≤ available`). Absent from
    /// processing centers that predate it; the terminal then assumes no processing fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<crate::fee::FeeRule>,
}

/// `POST /checks` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRequest {
    pub provider_id: i64,
    pub account: String,
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

/// `POST /checks` answer: the provider's answer passed through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckAnswer {
    pub result: u16,
    pub fatal: bool,
    pub message: String,
}

/// `POST /payments` body. `cash = amount + agent_fee`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    pub agent_txn_id: String,
    pub provider_id: i64,
    pub account: String,
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
    pub cash: Kopecks,
    pub agent_fee: Kopecks,
    pub amount: Kopecks,
    /// RFC 3339: when the terminal accepted the cash.
    pub accepted_at: String,
}

/// A payment's state as the agent sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentState {
    pub payment_id: i64,
    pub agent_txn_id: String,
    /// `completed`, `pending`, `failed` or `rejected`.
    pub status: String,
    pub amount: Kopecks,
    pub processing_fee: Kopecks,
    pub result: Option<u16>,
    pub fatal: bool,
    pub message: String,
    pub prv_txn: Option<String>,
    /// The agent's balance after this payment's reservation or settlement.
    pub balance: Money,
}
