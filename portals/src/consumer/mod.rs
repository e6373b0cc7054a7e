//! The consumer: a subscriber's app. Contracts with providers live in a JSON file; its buttons use services by POSTing to the providers.

pub mod figures;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
pub mod server_types;
