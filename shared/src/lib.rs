//! # shared — what every paymesh participant has in common
//!
//! The four participants (consumer, provider, processing, agent) never import each other;
//! they meet here and over HTTP.
//!
//! * [`money`] — [`money::Kopecks`], the integer money type, and the wire `Money` object.
//! * [`fee`] — fee rules (percent in basis points + fixed, clamped to min/max).
//! * [`fields`] — payment fields (name, labels, regex matched whole, mask, options) and
//!   the one matcher every participant checks values with.
//! * [`error`] — the JSON error body of wire.md, and (server) [`error::ApiError`], the one
//!   error type every handler returns, mapped once to a status and body.
//!
//! With the `server` feature (everything but the wasm UI build):
//!
//! * `auth` — Basic Authentication per realm: argon2 password hashes, the path→realm
//!   [`auth::Gate`] middleware, generated passwords.
//! * `csrf` — refusal of cross-site state-changing browser requests.
//! * `config` — flags common to all roles, `PAYMESH_*` variables and the TOML config file.
//! * `telemetry` — logging to stdout and a daily file; a span per request with its id.
//! * `metrics` — request counters and latency histograms in Prometheus text.
//! * `serve` — the one serving loop (HTTP or HTTPS) with its header-read and request
//!   timeouts, connection cap, graceful shutdown and the peer's address on each request
//!   (also alone, with the `serve` feature: kiosk-shell's bridge).
//! * `outbound` — the one builder of outbound HTTP clients (rustls + ring, system roots
//!   plus `--ca-file`), size-capped answer reading, errors that name a TLS problem.
//! * `zone` — a participant's time zone (`--time-zone`): local times and day bounds.

pub mod error;
pub mod fee;
pub mod fields;
pub mod money;
pub mod wire;

#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod csrf;
#[cfg(feature = "server")]
pub mod extract;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "client")]
pub mod outbound;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "server")]
pub mod telemetry;
#[cfg(feature = "server")]
pub mod zone;

pub use money::{Kopecks, Money};
