//! The provider's server side: its state, its realms — subscribers (`/api/usage/v1`) and
//! processing centers (`/osmp`, `/api/processing/v1`), whose logins contracts issue — and
//! its routes.

pub mod admin;
pub mod billing;
pub mod gateway;
pub mod mail;
pub mod mail_outbox;
pub mod processing_api;
pub mod report;
pub mod report_xlsx;
pub mod reports;
pub mod store;
pub mod usage;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, post};
use shared::auth::CredentialStore;
use sqlx::SqlitePool;

use crate::provider::domain::ProviderKind;
use crate::server::credentials::DbCredentials;
use crate::server::{RoleContext, RoleParts, StartError};

/// Realm of subscribers' logins (usage API).
pub const SUBSCRIBER_REALM: &str = "subscriber";
/// Realm of processing centers' logins (OSMP and JSON endpoints).
pub const PROCESSING_REALM: &str = "processing";

/// What every provider handler needs.
#[derive(Clone)]
pub struct ProviderState {
    pub pool: SqlitePool,
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
    let state = ProviderState {
        pool: pool.clone(),
        kind,
        account_offset: store::numbering_offset(&name),
        name,
        base_url: context.base_url(),
        subscriber_logins: DbCredentials::new(pool.clone(), SUBSCRIBER_REALM),
        processing_logins: DbCredentials::new(pool.clone(), PROCESSING_REALM),
        mailer: Arc::new(mailer),
    };
    tokio::spawn(mail_outbox::run(pool, state.mailer.clone()));
    let subscribers: Arc<dyn CredentialStore> = state.subscriber_logins.clone();
    let processing: Arc<dyn CredentialStore> = state.processing_logins.clone();
    let api = Router::new()
        .merge(admin::router(state.clone()))
        .merge(usage::router(state.clone()))
        .merge(reports::router(state.clone()))
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
