//! The processing center: provider and agent contracts, agent balances and fees, proxied checks, exactly-once payments, the ledger.

pub mod detail;
pub mod figures;
pub mod listing;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
