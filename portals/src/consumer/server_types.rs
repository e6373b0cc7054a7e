//! The consumer's records as the pages show them (both builds): a contract without its
//! password, and its uses.

use serde::{Deserialize, Serialize};
use shared::money::Money;

/// One use of a service and what the provider answered: stored in `contracts.json` and
/// shown on the page as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Use {
    pub at: String,
    pub service: String,
    pub quantity: i64,
    /// The provider's HTTP status.
    pub status: u16,
    pub charged: Option<Money>,
    pub balance: Option<Money>,
    /// The provider's refusal, in its words.
    pub refusal: Option<String>,
}

/// A contract as the API and the pages show it: everything but the password, which stays
/// in `contracts.json` (the consumer needs it to call the provider) and is never sent back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractView {
    pub id: u64,
    pub provider_name: String,
    pub subscriber_id: i64,
    pub account: String,
    pub usage_url: String,
    pub protocol: String,
    pub login: String,
    pub services: Vec<String>,
    pub uses: Vec<Use>,
}

#[cfg(feature = "ssr")]
impl From<&crate::consumer::server::contracts_file::Contract> for ContractView {
    fn from(c: &crate::consumer::server::contracts_file::Contract) -> Self {
        ContractView {
            id: c.id,
            provider_name: c.provider_name.clone(),
            subscriber_id: c.subscriber_id,
            account: c.account.clone(),
            usage_url: c.usage_url.clone(),
            protocol: c.protocol.clone(),
            login: c.login.clone(),
            services: c.services.clone(),
            uses: c.uses.clone(),
        }
    }
}

/// What one contract's provider said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryOutcome {
    Entries(Vec<shared::wire::provider::HistoryEntry>),
    /// No answer, or one that could not be read: why, in the transport's words.
    Unreachable(String),
    /// The provider answered with this HTTP status (a wrong password: 401).
    Refused(u16),
}

/// One contract's block of the history page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractHistory {
    pub contract_id: u64,
    pub provider_name: String,
    pub account: String,
    pub outcome: HistoryOutcome,
}
