//! The provider's server side: its state, its realms — subscribers (`/api/usage/v1`) and
//! processing centers (`/osmp`, `/api/processing/v1`), whose logins contracts issue — and
//! its routes.

pub mod admin;
pub mod billing;
pub mod contract_audit;
pub mod dashboard;
pub mod gateway;
pub mod mail;
pub mod mail_outbox;
pub mod processing_api;
pub mod report;
pub mod report_xlsx;
pub mod reports;
pub mod store;
pub mod subscriber_list;
pub mod usage;

use std::sync::Arc;

use crate::server::db::Db;
use axum::Router;
use axum::routing::{any, post};
use shared::auth::CredentialStore;

use crate::provider::domain::ProviderKind;
use crate::server::credentials::{DbCredentials, WithContract};
use crate::server::retention::Sweep;
use crate::server::{RoleContext, RoleParts, StartError};

/// Realm of subscribers' logins (usage API).
pub const SUBSCRIBER_REALM: &str = "subscriber";
/// Realm of processing centers' logins (OSMP and JSON endpoints).
pub const PROCESSING_REALM: &str = "processing";

/// What ages out of a provider's database: the gateway's request log, and e-mails that
/// were sent or gave up (queued ones stay until they go). Payments and transactions stay.
pub const RETENTION: &[Sweep] = &[
    Sweep {
        what: "gateway log rows",
        delete: "DELETE FROM gateway_log WHERE id IN
                 (SELECT id FROM gateway_log WHERE created_at < $1 ORDER BY id LIMIT $2)",
    },
    Sweep {
        what: "sent or failed e-mails",
        delete: "DELETE FROM outgoing_mail WHERE id IN
                 (SELECT id FROM outgoing_mail WHERE status IN ('sent', 'failed') AND created_at < $1
                  ORDER BY id LIMIT $2)",
    },
];

/// What every provider handler needs, in one allocation: axum clones the state for each
/// request and each middleware layer, and a field-by-field clone copied strings and the
/// time zone's rules every time.
pub type ProviderState = Arc<ProviderShared>;

/// The fields of a [`ProviderState`].
pub struct ProviderShared {
    pub pool: Db,
    pub kind: ProviderKind,
    /// The operator's name (`--name`), printed on reports and signed under e-mails.
    pub name: String,
    /// Shifts this operator's phone numbers away from other operators' (from `--name`).
    pub account_offset: i64,
    /// `http://HOST:PORT`, the base of the URLs contracts carry.
    pub base_url: String,
    pub subscriber_logins: Arc<DbCredentials>,
    pub processing_logins: Arc<DbCredentials>,
    /// The mail server and sender of report e-mails; wakes the outbox worker.
    pub mailer: Arc<mail::Mailer>,
    /// The participant's wall clock (`--time-zone`): where the dashboard's days begin.
    pub zone: shared::zone::Zone,
}

pub fn parts(context: &RoleContext) -> Result<RoleParts, StartError> {
    let pool = context
        .pool
        .clone()
        .ok_or_else(|| StartError::Other("the provider needs its database".into()))?;
    let kind_text = context
        .settings
        .provider_kind
        .as_deref()
        .unwrap_or("mobile");
    let kind = ProviderKind::parse(kind_text).ok_or_else(|| {
        StartError::Other(format!(
            "--kind must be mobile or internet, not {kind_text:?}"
        ))
    })?;
    let settings = &context.settings;
    let name = settings
        .common
        .name
        .clone()
        .unwrap_or_else(|| "paymesh provider".to_owned());
    let mailer = mail::Mailer::new(
        settings.smtp_url.as_deref(),
        settings.smtp_ca.as_deref(),
        settings.mail_from.as_deref(),
        settings.mail_retry_delay_max,
    )
    .map_err(|e| StartError::Other(e.to_string()))?;
    let state = Arc::new(ProviderShared {
        pool: pool.clone(),
        kind,
        account_offset: store::numbering_offset(&name),
        name,
        base_url: context.base_url(),
        subscriber_logins: DbCredentials::new(pool.clone(), SUBSCRIBER_REALM),
        processing_logins: DbCredentials::new(pool.clone(), PROCESSING_REALM),
        mailer: Arc::new(mailer),
        zone: settings.common.time_zone.clone(),
    });
    tokio::spawn(mail_outbox::run(pool.clone(), state.mailer.clone()));
    subscriber_list::spawn_fill(pool.clone());
    crate::server::retention::spawn(
        pool,
        RETENTION,
        settings
            .retention
            .unwrap_or(crate::server::retention::DEFAULT_MAX_AGE),
    );
    let subscribers: Arc<dyn CredentialStore> = state.subscriber_logins.clone();
    // The processing centers' API reads the contract with its login: one read a request.
    let processing: Arc<dyn CredentialStore> = WithContract::new(
        state.pool.clone(),
        state.processing_logins.clone(),
        store::CONTRACT_LOGIN,
        |contract: &store::ContractRow| contract.id,
    );
    let api = Router::new()
        .merge(admin::router(state.clone()))
        .merge(usage::router(state.clone()))
        .merge(reports::router(state.clone()))
        .merge(crate::server::threshold::router(
            state.pool.clone(),
            &dashboard::LOW_BALANCE,
        ))
        .merge(
            Router::new()
                .route("/osmp", any(processing_api::osmp))
                .route("/api/processing/v1/{command}", post(processing_api::json))
                .with_state(state.clone()),
        );
    Ok(RoleParts {
        api,
        ui_context: Some(Arc::new(move || {
            leptos::prelude::provide_context(state.clone())
        })),
        realms: vec![
            ("/api/usage/v1", vec![subscribers]),
            ("/osmp", vec![processing.clone()]),
            ("/api/processing/v1", vec![processing]),
        ],
        generated: Vec::new(),
    })
}
