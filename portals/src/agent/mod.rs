//! The agent: a payment terminal's back end. Contract with processing, catalog and balance sync, the kiosk, store-and-forward.

pub mod figures;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
