//! The provider: an operator's billing. Subscriber contracts, tariffs, usage charges, processing contracts and the OSMP endpoint.

pub mod domain;
pub mod figures;
pub mod listing;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
