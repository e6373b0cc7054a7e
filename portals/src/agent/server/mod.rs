//! The agent's server side: the terminal's state, the kiosk realm (login `kiosk`) for
//! `/api/kiosk/v1` and the kiosk screens (the UI bundle is open to both the operator and
//! the kiosk), the terminal realm (login `terminal`, kiosk-shell's own) for
//! `/api/terminal/v1` where the cash comes in, its routes, and two background workers:
//! sync and the outbox.

pub mod abandoned;
pub mod admin;
pub mod cash;
pub mod cashbox_api;
pub mod claims;
pub mod dashboard;
pub mod encashment;
pub mod encashment_xlsx;
pub mod kiosk;
pub mod logos;
pub mod operation_number;
pub mod outbox;
pub mod processing;
pub mod store;
pub mod sync;
pub mod terminal;
pub mod values;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use shared::auth::{CredentialStore, SingleLogin};
use sqlx::SqlitePool;

use crate::server::data_dir;
use crate::server::{RoleContext, RoleParts, StartError};

/// The kiosk's login.
pub const KIOSK_LOGIN: &str = "kiosk";
/// Where a generated kiosk password is kept.
pub const KIOSK_PASSWORD_FILE: &str = "kiosk-password";

/// The longest wait for one answer of processing.
pub const PROCESSING_TIMEOUT: Duration = Duration::from_secs(30);

/// What every agent handler and worker needs.
#[derive(Clone)]
pub struct AgentState {
    pub pool: SqlitePool,
    pub client: reqwest::Client,
    pub catalog_interval: Duration,
    pub balance_interval: Duration,
    /// The terminal's name on receipts (`--name`).
    pub terminal_name: String,
    /// The agent's legal name, INN, address, terminal number and support phone on receipts.
    pub issuer: crate::agent::model::ReceiptIssuer,
    /// The terminal's wall clock (`--time-zone`): receipts and the operator's pages.
    pub zone: shared::zone::Zone,
    /// The bill validator's fault, as kiosk-shell last reported it.
    pub validator_fault: Arc<Mutex<Option<String>>>,
    /// Wakes the outbox when a payment is stored.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// `--kiosk-dev`: the kiosk page, opened without kiosk-shell, says how to get
    /// simulated banknotes (kiosk-shell's simulator); it never adds cash itself.
    pub dev_mode: bool,
    /// `--kiosk-idle-s`: how long the kiosk page waits for a touch.
    pub kiosk_timing: crate::agent::model::KioskTiming,
    /// `DIR/kiosk-logos`: the providers' logos on the kiosk's tiles ([`logos`]).
    pub logo_dir: std::path::PathBuf,
}

/// What ages out of the terminal's database: sessions a customer opened and left without
/// inserting cash (no bill, no payment), then the checks no remaining session points to.
/// Sessions with cash, bills, unassigned cash and payments are the terminal's books and stay.
pub const RETENTION: &[crate::server::retention::Sweep] = &[
    crate::server::retention::Sweep {
        what: "kiosk sessions left without cash",
        delete: "DELETE FROM sessions WHERE id IN
                 (SELECT s.id FROM sessions s
                  WHERE s.status = 'open' AND s.created_at < $1
                    AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.session_id = s.id)
                    AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.session_id = s.id)
                  ORDER BY s.id LIMIT $2)",
    },
    crate::server::retention::Sweep {
        what: "account checks no session uses",
        delete: "DELETE FROM checks WHERE id IN
                 (SELECT c.id FROM checks c
                  WHERE c.checked_at < $1
                    AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.check_id = c.id)
                  ORDER BY c.id LIMIT $2)",
    },
];

pub fn parts(context: &RoleContext) -> Result<RoleParts, StartError> {
    let dir = &context.settings.common.data_dir;
    let (password, generated) = data_dir::password(
        dir,
        KIOSK_PASSWORD_FILE,
        context.settings.kiosk_password.as_deref(),
    )?;
    let kiosk: Arc<dyn CredentialStore> = Arc::new(
        SingleLogin::new("kiosk", KIOSK_LOGIN, &password)
            .map_err(|e| StartError::Other(e.to_string()))?,
    );
    let (terminal_password, terminal_generated) = data_dir::password(
        dir,
        terminal::TERMINAL_PASSWORD_FILE,
        context.settings.terminal_password.as_deref(),
    )?;
    let terminal_store: Arc<dyn CredentialStore> = Arc::new(
        SingleLogin::new("terminal", terminal::TERMINAL_LOGIN, &terminal_password)
            .map_err(|e| StartError::Other(e.to_string()))?,
    );
    let pool = context
        .pool
        .as_ref()
        .and_then(crate::server::db::Db::sqlite)
        .cloned()
        .ok_or_else(|| StartError::Other("the agent needs its SQLite database".into()))?;
    let settings = &context.settings;
    let state = AgentState {
        pool,
        client: context
            .trust
            .client(PROCESSING_TIMEOUT)
            .map_err(|e| StartError::Other(format!("cannot build the HTTP client: {e}")))?,
        catalog_interval: settings.catalog_interval.unwrap_or(sync::CATALOG_INTERVAL),
        balance_interval: settings.balance_interval.unwrap_or(sync::BALANCE_INTERVAL),
        terminal_name: settings
            .common
            .name
            .clone()
            .unwrap_or_else(|| "paymesh terminal".to_owned()),
        issuer: settings.receipt_issuer.clone(),
        zone: settings.common.time_zone.clone(),
        validator_fault: Arc::default(),
        outbox_wake: Arc::default(),
        dev_mode: settings.kiosk_dev,
        kiosk_timing: settings.kiosk_timing,
        logo_dir: dir.join(logos::LOGO_DIR),
    };
    tokio::spawn(sync::run(state.clone()));
    tokio::spawn(outbox::run(state.clone()));
    tokio::spawn(abandoned::run(state.clone()));
    crate::server::retention::spawn(
        state.pool.clone().into(),
        RETENTION,
        settings
            .retention
            .unwrap_or(crate::server::retention::DEFAULT_MAX_AGE),
    );
    let api = Router::new()
        .merge(admin::router(state.clone()))
        .merge(cashbox_api::router(state.clone()))
        .merge(kiosk::router(state.clone()))
        .merge(logos::router(state.clone()))
        .merge(terminal::router(state.clone()));
    let both = vec![context.admin.clone(), kiosk.clone()];
    let realms = vec![
        ("/api/kiosk/v1", vec![kiosk.clone()]),
        // kiosk-shell's own credential: the only way cash comes in.
        ("/api/terminal/v1", vec![terminal_store]),
        ("/kiosk", vec![kiosk.clone()]),
        // The kiosk page's server functions.
        ("/ui/kiosk", vec![kiosk]),
        ("/pkg", both.clone()),
        // The kiosk's language switch.
        ("/lang", both.clone()),
        ("/assets", both),
    ];
    let mut generated_now = Vec::new();
    if generated {
        generated_now.push((
            "kiosk (login kiosk)",
            dir.join(KIOSK_PASSWORD_FILE),
            password,
        ));
    }
    if terminal_generated {
        generated_now.push((
            "terminal (login terminal, kiosk-shell's)",
            dir.join(terminal::TERMINAL_PASSWORD_FILE),
            terminal_password,
        ));
    }
    Ok(RoleParts {
        api,
        ui_context: Some(Arc::new(move || {
            leptos::prelude::provide_context(state.clone())
        })),
        realms,
        generated: generated_now,
    })
}
