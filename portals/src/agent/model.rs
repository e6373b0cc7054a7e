//! The agent's records as the API and the pages show them (both builds).

use serde::{Deserialize, Serialize};
use shared::fee::FeeRule;
use shared::money::{Kopecks, Money};
use shared::wire::agent::{CatalogProvider, Extra};

/// The terminal as the operator and the kiosk see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub balance: Money,
    pub available: Money,
    pub blocked: bool,
    /// Why it is blocked: `no_contract`, `empty_catalog`, `no_funds`, `validator_fault`.
    pub blocked_reasons: Vec<String>,
    pub contract_number: Option<String>,
    pub catalog_version: Option<String>,
    pub catalog_fetched_at: Option<String>,
    pub catalog_error: Option<String>,
    pub balance_fetched_at: Option<String>,
    pub balance_error: Option<String>,
    pub outbox_pending: i64,
}

/// What the kiosk shows on its first screen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KioskState {
    pub status: Status,
    pub providers: Vec<CatalogProvider>,
    pub fee: FeeRule,
    /// `--kiosk-dev`: the page explains how to get simulated banknotes (kiosk-shell's
    /// simulator) when it runs without kiosk-shell.
    pub dev_mode: bool,
}

/// A session as the kiosk sees it: the cash so far and what it credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub session_id: i64,
    pub provider_id: i64,
    pub provider_name: String,
    pub account: String,
    /// The payment fields after `account`, by name.
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
    pub status: String,
    pub min_amount: Kopecks,
    pub max_amount: Kopecks,
    /// Принято: the cash inserted.
    pub cash: Kopecks,
    /// Комиссия: the agent's fee on that cash.
    pub agent_fee: Kopecks,
    /// К зачислению: what the subscriber gets.
    pub amount: Kopecks,
    /// The most cash the validator may still take for this session: the provider's
    /// maximum less the cash in it, bounded by what the agent's deposit can cover.
    #[serde(default)]
    pub acceptable: Kopecks,
}

/// A receipt: what the customer takes away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub agent: String,
    pub terminal: String,
    pub provider: String,
    pub account: String,
    /// The payment fields after `account`, by name (the page labels them from the catalog).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
    pub cash: Kopecks,
    pub agent_fee: Kopecks,
    pub amount: Kopecks,
    pub agent_txn_id: String,
    pub payment_id: Option<i64>,
    pub accepted_at: String,
    /// `queued`/`pending` (on its way), `completed`, `failed`, `rejected`.
    pub status: String,
    pub message: Option<String>,
}
