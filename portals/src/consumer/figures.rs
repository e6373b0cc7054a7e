//! The figures of the consumer's home page: each contract with the balance the provider
//! gave with its last charge, and the latest uses across contracts (both builds). Read
//! from the contracts file the consumer keeps (`server::dashboard`): no provider is asked,
//! so the page opens at once even when a provider is down.

use serde::{Deserialize, Serialize};

use crate::consumer::server_types::Use;

/// One contract's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractLine {
    pub id: u64,
    pub provider_name: String,
    pub account: String,
    pub services: Vec<String>,
    /// The balance the provider answered with the latest use that carried one (kopecks),
    /// and when.
    pub balance: Option<i64>,
    pub balance_at: Option<String>,
    pub uses: usize,
    /// Charged over all remembered uses (kopecks).
    pub charged_total: i64,
}

/// A use with the contract it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentUse {
    pub provider_name: String,
    pub account: String,
    #[serde(flatten)]
    pub use_: Use,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub contracts: Vec<ContractLine>,
    /// The latest first (at most [`RECENT_MAX`]).
    pub recent: Vec<RecentUse>,
}

/// How many uses the page lists.
pub const RECENT_MAX: usize = 8;
