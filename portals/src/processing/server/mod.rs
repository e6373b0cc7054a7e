//! The processing center's server side: its state, the agents' realm (`/api/agent/v1`,
//! logins issued by agent contracts), its routes, and the retrier of pending payments.

pub mod admin;
pub mod agent_api;
pub mod connectors;
pub mod contract_audit;
pub mod dashboard;
pub mod ledger;
pub mod lists;
pub mod payment;
pub mod payment_detail_api;
pub mod registry;
pub mod reports;
pub mod retrier;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use crate::server::db::Db;
use axum::Router;
use shared::auth::CredentialStore;

use crate::server::credentials::{DbCredentials, WithContract};
use crate::server::{RoleContext, RoleParts, StartError};

/// Realm of agents' logins.
pub const AGENT_REALM: &str = "agent";
/// How long one call to a provider may take (osmp.md: the caller waits up to 60 s).
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(60);
/// What an attempt's lease adds to the provider timeout: writing the answer down.
/// How long a payment request waits for the provider before it is answered `pending`.
pub const ANSWER_BUDGET: Duration = Duration::from_secs(3);
pub const ATTEMPT_LEASE_MARGIN: Duration = Duration::from_secs(10);
/// The longest wait between two attempts of a pending payment.
pub const RETRY_DELAY_MAX: Duration = Duration::from_secs(60);

/// What every processing handler needs, in one allocation: axum clones the state for each
/// request and each middleware layer, and a field-by-field clone copied strings and the
/// time zone's rules every time.
pub type ProcessingState = Arc<ProcessingShared>;

/// The fields of a [`ProcessingState`].
pub struct ProcessingShared {
    pub pool: Db,
    /// `http://HOST:PORT`, the base of the URLs contracts carry.
    pub base_url: String,
    pub agent_logins: Arc<DbCredentials>,
    pub provider_client: reqwest::Client,
    pub retry_delay_max: Duration,
    /// How long one attempt holds its payment (`payment::claim_due`): the provider
    /// timeout and a margin, so a lease never runs out under a live attempt.
    pub attempt_lease: Duration,
    /// How long a payment request waits for its first attempt before answering `pending`.
    pub answer_budget: Duration,
    /// How old an `accepted_at` may be (payment::ACCEPTED_AT_AGE_MAX unless configured).
    pub accepted_at_age_max: time::Duration,
    /// The participant's wall clock (`--time-zone`): where the dashboard's day and hours
    /// begin.
    pub zone: shared::zone::Zone,
}

pub fn parts(context: &RoleContext) -> Result<RoleParts, StartError> {
    let pool = context
        .pool
        .clone()
        .ok_or_else(|| StartError::Other("processing needs its database".into()))?;
    let settings = &context.settings;
    let provider_timeout = settings.provider_timeout.unwrap_or(PROVIDER_TIMEOUT);
    let state = Arc::new(ProcessingShared {
        pool: pool.clone(),
        base_url: context.base_url(),
        agent_logins: DbCredentials::new(pool, AGENT_REALM),
        provider_client: context
            .trust
            .client(provider_timeout)
            .map_err(|e| StartError::Other(format!("cannot build the HTTP client: {e}")))?,
        retry_delay_max: settings.retry_delay_max.unwrap_or(RETRY_DELAY_MAX),
        attempt_lease: provider_timeout + ATTEMPT_LEASE_MARGIN,
        answer_budget: settings.answer_budget.unwrap_or(ANSWER_BUDGET),
        accepted_at_age_max: settings
            .accepted_at_age_max
            .and_then(|age| time::Duration::try_from(age).ok())
            .unwrap_or(payment::ACCEPTED_AT_AGE_MAX),
        zone: settings.common.time_zone.clone(),
    });
    tokio::spawn(retrier::run(state.clone()));
    // The agents' API reads the agent's contract with its login: one read a request.
    let agents: Arc<dyn CredentialStore> = WithContract::new(
        state.pool.clone(),
        state.agent_logins.clone(),
        store::AGENT_LOGIN,
        |agent: &store::AgentRow| agent.id,
    );
    let api = Router::new()
        .merge(admin::router(state.clone()))
        .merge(payment_detail_api::router(state.clone()))
        .merge(agent_api::router(state.clone()))
        .merge(registry::router(state.clone()))
        .merge(reports::router(state.clone()))
        .merge(crate::server::threshold::router(
            state.pool.clone(),
            &dashboard::LOW_DEPOSIT,
        ));
    Ok(RoleParts {
        api,
        ui_context: Some(Arc::new(move || {
            leptos::prelude::provide_context(state.clone())
        })),
        realms: vec![("/api/agent/v1", vec![agents])],
        generated: Vec::new(),
    })
}
