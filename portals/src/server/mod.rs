//! The runtime every role shares: the data directory and its lock, passwords, the
//! database, the router with its layers (tracing → metrics → auth gate → CSRF → handler),
//! and the listener. [`App::build`] is the one constructor the binary and the tests use.

pub mod audit;
pub mod buckets;
pub mod children;
pub mod clock;
pub mod credentials;
pub mod csv;
pub mod data_dir;
pub mod db;
pub mod health;
pub mod hex;
pub mod listing;
pub mod local_path;
pub mod local_time;
pub mod period;
pub mod periodic;
pub mod retention;
pub mod search_key;
pub mod staff;
pub mod threshold;
pub mod ui;
pub mod workbook;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use db::Db;
use shared::auth::{CredentialStore, Gate, SingleLogin, require_auth};
use shared::config::CommonArgs;
use shared::error::ApiError;
use shared::metrics::HttpMetrics;
use shared::outbound::Trust;
use shared::serve::{ConnectionStats, ServeLimits, TlsIdentity};
use tokio::net::TcpListener;

use crate::role::Role;
use children::DieWithParent;

/// The operator's login on every participant.
pub const ADMIN_LOGIN: &str = "admin";
/// Where a generated operator password is kept.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";
/// Largest request body any route accepts; routes that need less set their own limit.
pub const MAX_BODY_BYTES: usize = shared::extract::DEFAULT_LIMIT_BYTES;
/// Listen address when none is given: one fixed port per role, so the four can run side by side.
pub fn default_listen(role: Role) -> SocketAddr {
    let port = match role {
        Role::Consumer => 8401,
        Role::Provider => 8402,
        Role::Processing => 8403,
        Role::Agent => 8404,
    };
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Everything a participant process is started with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub role: Role,
    pub common: CommonArgs,
    /// Agent only: the kiosk realm's password (`--kiosk-password`).
    pub kiosk_password: Option<String>,
    /// Agent only: the terminal realm's password (`--terminal-password`), kiosk-shell's.
    pub terminal_password: Option<String>,
    /// Provider only: `--kind` (`mobile` or `internet`), `--smtp-url` and `--mail-from`.
    pub provider_kind: Option<String>,
    pub smtp_url: Option<String>,
    /// Provider only: `--smtp-ca`, the private CA of the mail server.
    pub smtp_ca: Option<std::path::PathBuf>,
    pub mail_from: Option<String>,
    /// Provider only: the longest wait between two attempts of an undelivered e-mail.
    pub mail_retry_delay_max: Option<std::time::Duration>,
    /// Processing only: the longest wait for a provider's answer, and between retries.
    pub provider_timeout: Option<std::time::Duration>,
    pub retry_delay_max: Option<std::time::Duration>,
    /// Processing only: the longest a payment request waits for the provider's answer
    /// before it is answered `pending`.
    pub answer_budget: Option<std::time::Duration>,
    /// Provider and agent: how old log-like rows (gateway log, sent mail, abandoned kiosk
    /// sessions) may grow before they are deleted (`--retention-days`).
    pub retention: Option<std::time::Duration>,
    /// Processing only: how old a payment's `accepted_at` may be.
    pub accepted_at_age_max: Option<std::time::Duration>,
    /// Agent only: how often to refresh the catalog and the balance.
    pub catalog_interval: Option<std::time::Duration>,
    pub balance_interval: Option<std::time::Duration>,
    /// Agent only: the kiosk page without kiosk-shell explains how to simulate bills.
    pub kiosk_dev: bool,
    /// Agent only: who the receipts name (legal name, INN, address, terminal, support).
    #[cfg(feature = "agent")]
    pub receipt_issuer: crate::agent::model::ReceiptIssuer,
    /// Agent only: how long the kiosk page waits for a touch (`--kiosk-idle-s`).
    #[cfg(feature = "agent")]
    pub kiosk_timing: crate::agent::model::KioskTiming,
}

impl Settings {
    pub fn new(role: Role, common: CommonArgs) -> Self {
        Settings {
            role,
            common,
            kiosk_password: None,
            terminal_password: None,
            provider_kind: None,
            smtp_url: None,
            smtp_ca: None,
            mail_from: None,
            mail_retry_delay_max: None,
            provider_timeout: None,
            retry_delay_max: None,
            answer_budget: None,
            accepted_at_age_max: None,
            retention: None,
            catalog_interval: None,
            balance_interval: None,
            kiosk_dev: false,
            #[cfg(feature = "agent")]
            receipt_issuer: Default::default(),
            #[cfg(feature = "agent")]
            kiosk_timing: Default::default(),
        }
    }
}

/// Why a participant could not start. Each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use data directory {dir}: {source}")]
    DataDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "data directory {dir} is in use by another paymesh process (pid {holder}); stop it or choose another --data-dir"
    )]
    Locked { dir: PathBuf, holder: String },
    #[error("password file {path}: {why}")]
    Secret { path: PathBuf, why: String },
    #[error("database: {0}")]
    Database(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(#[from] shared::serve::TlsConfigError),
    #[error("{0}")]
    Trust(#[from] shared::outbound::TrustError),
    #[error("{0}")]
    Other(String),
}

/// What the shared runtime hands a role to build its routes.
pub struct RoleContext {
    pub settings: Settings,
    /// The address the participant really listens on (port 0 resolved).
    pub addr: SocketAddr,
    pub pool: Option<Db>,
    pub admin: Arc<dyn CredentialStore>,
    /// Whether this participant serves HTTPS (`--tls-cert`): its URLs say `https://`.
    pub https: bool,
    /// What its outbound clients trust: the system's roots plus `--ca-file`. Every
    /// outbound client is built from it (`trust.client(timeout)`).
    pub trust: Trust,
}

impl RoleContext {
    /// `http://ADDR` or `https://ADDR`, the base of URLs this participant issues
    /// (usage_url, endpoint_url, api_url).
    pub fn base_url(&self) -> String {
        base_url(self.https, self.addr)
    }
}

/// The base of a participant's URLs: the scheme it serves, and its address.
pub fn base_url(https: bool, addr: SocketAddr) -> String {
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{addr}")
}

/// Provides a role's state to its pages and server functions, once per request.
pub type UiContext = Arc<dyn Fn() + Send + Sync>;

/// What a role adds: its API routes and the realms beyond the operator's.
pub struct RoleParts {
    pub api: Router,
    /// What the role's pages and server functions find in their context.
    pub ui_context: Option<UiContext>,
    /// (path prefix, stores allowed there), on top of `/` → operator.
    pub realms: Vec<(&'static str, Vec<Arc<dyn CredentialStore>>)>,
    /// Passwords generated on this start, to print once: (what, file, password).
    pub generated: Vec<(&'static str, PathBuf, String)>,
}

/// A built participant, bound to its port, not yet serving.
pub struct App {
    pub role: Role,
    pub addr: SocketAddr,
    /// The operator's password (given, read from the file, or generated now).
    pub admin_password: String,
    /// Passwords generated on this start: (what, file, password).
    pub generated: Vec<(&'static str, PathBuf, String)>,
    pub pool: Option<Db>,
    /// The listener's connection counts (open, peak, accepted).
    pub connections: Arc<ConnectionStats>,
    listener: TcpListener,
    router: Router,
    tls: Option<TlsIdentity>,
    limits: ServeLimits,
    _lock: data_dir::DataDirLock,
}

impl App {
    /// Prepares the data directory, takes its lock, opens the database, builds the router
    /// and binds the listener.
    pub async fn build(settings: Settings) -> Result<App, StartError> {
        let role = settings.role;
        let dir = settings.common.data_dir.clone();
        // Before anything can build an HTTP client: reqwest needs a rustls provider.
        shared::outbound::install_crypto_provider();
        let tls = TlsIdentity::from_flags(
            settings.common.tls_cert.as_deref(),
            settings.common.tls_key.as_deref(),
        )?;
        let trust = Trust::load(settings.common.ca_file.as_deref())?;
        data_dir::prepare(&dir)?;
        let lock = data_dir::lock(&dir)?;
        let (admin_password, admin_generated) = data_dir::password(
            &dir,
            ADMIN_PASSWORD_FILE,
            settings.common.admin_password.as_deref(),
        )?;
        let mut generated = Vec::new();
        if admin_generated {
            generated.push((
                "operator (login admin)",
                dir.join(ADMIN_PASSWORD_FILE),
                admin_password.clone(),
            ));
        }
        let admin_login = SingleLogin::new(staff::OPERATOR_REALM, ADMIN_LOGIN, &admin_password)
            .map_err(|e| StartError::Other(e.to_string()))?;
        let pool = if role.has_database() {
            Some(
                db::open(
                    role,
                    &dir,
                    settings.common.database_url.as_deref(),
                    settings.common.sqlite_synchronous,
                )
                .await?,
            )
        } else {
            None
        };
        if let Some(db) = &pool {
            tracing::info!(database = %db.describe(), "database open and migrated");
        }
        // The operator realm: the password file's admin, then the staff logins.
        let operator_logins = staff::OperatorLogins::new(admin_login, pool.as_ref());
        let staff_context = match (&pool, operator_logins.staff()) {
            (Some(pool), Some(logins)) => Some(staff::StaffContext {
                directory: Arc::new(staff::StaffDirectory::new(pool.clone(), logins)),
            }),
            _ => None,
        };
        let admin: Arc<dyn CredentialStore> = Arc::new(operator_logins);
        let listen = settings
            .common
            .listen
            .unwrap_or_else(|| default_listen(role));
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: listen,
            source,
        })?;

        let context = RoleContext {
            settings: settings.clone(),
            addr,
            pool: pool.clone(),
            admin: admin.clone(),
            https: tls.is_some(),
            trust,
        };
        let parts = role_parts(&context)?;
        generated.extend(parts.generated);

        let mut gate = Gate::new(role.as_str())
            .public(http::Method::GET, "/healthz")
            .protect("/", vec![admin]);
        for (prefix, stores) in parts.realms {
            gate = gate.protect(prefix, stores);
        }
        let metrics = HttpMetrics::new(role.as_str());
        let health = health::HealthState {
            role,
            name: settings.common.name.clone(),
            started_at: clock::now_text(),
            pool: pool.clone(),
            metrics: metrics.clone(),
        };
        let router = Router::new()
            .merge(health::router(health))
            .merge(parts.api)
            .merge(match &pool {
                Some(pool) => audit::api::router(pool.clone()),
                None => Router::new(),
            })
            .merge(match &staff_context {
                Some(context) => staff::api::router(context.clone()),
                None => Router::new(),
            })
            .merge(ui::router(
                role,
                with_audit_log(parts.ui_context, pool.clone(), staff_context),
            ))
            .fallback(|| async {
                ApiError::NotFound {
                    what: "route".into(),
                }
            })
            .layer(from_fn(staff::access::enforce_role))
            .layer(from_fn(shared::csrf::refuse_cross_site))
            .layer(from_fn_with_state(Arc::new(gate), require_auth));
        // With the syncer, reads see commits before the disk has them: the answer waits.
        let router = if pool.as_ref().is_some_and(Db::has_syncer) {
            router.layer(from_fn(db::durable::answered_when_durable))
        } else {
            router
        };
        let router = router
            .layer(from_fn_with_state(metrics, shared::metrics::track))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
        let router = shared::telemetry::with_request_tracing(router);
        Ok(App {
            role,
            addr,
            admin_password,
            generated,
            pool,
            connections: Arc::default(),
            listener,
            router,
            limits: settings.common.serve_limits(),
            tls,
            _lock: lock,
        })
    }

    /// Whether it serves HTTPS.
    pub fn https(&self) -> bool {
        self.tls.is_some()
    }

    /// `http://ADDR` or `https://ADDR`.
    pub fn base_url(&self) -> String {
        base_url(self.https(), self.addr)
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let App {
            role,
            addr,
            listener,
            router,
            pool,
            tls,
            limits,
            connections,
            _lock,
            ..
        } = self;
        tracing::info!(%role, %addr, https = tls.is_some(), max_connections = limits.max_connections, "serving");
        shared::serve::serve(listener, router, tls, limits, connections, shutdown).await?;
        if let Some(pool) = pool {
            pool.close().await;
        }
        tracing::info!(%role, "stopped");
        Ok(())
    }
}

/// The role's page context plus the audit log and the staff directory (the `/audit` and
/// `/staff` pages'), where there is a database.
fn with_audit_log(
    role_context: Option<UiContext>,
    pool: Option<Db>,
    staff: Option<staff::StaffContext>,
) -> Option<UiContext> {
    let Some(log) = pool.map(audit::AuditLog) else {
        return role_context;
    };
    Some(Arc::new(move || {
        if let Some(provide) = &role_context {
            provide();
        }
        leptos::prelude::provide_context(log.clone());
        if let Some(staff) = &staff {
            leptos::prelude::provide_context(staff.clone());
        }
    }))
}

fn role_parts(context: &RoleContext) -> Result<RoleParts, StartError> {
    match context.settings.role {
        #[cfg(feature = "consumer")]
        Role::Consumer => crate::consumer::server::parts(context),
        #[cfg(feature = "provider")]
        Role::Provider => crate::provider::server::parts(context),
        #[cfg(feature = "processing")]
        Role::Processing => crate::processing::server::parts(context),
        #[cfg(feature = "agent")]
        Role::Agent => crate::agent::server::parts(context),
        #[allow(unreachable_patterns)]
        other => Err(StartError::Other(format!(
            "this build does not include the {other} role"
        ))),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    listen_for_shutdown().await
}

/// Takes over Ctrl-C and SIGTERM now, and resolves when one arrives. Unlike an
/// `async fn`, whose body (and so the handlers) waits for the first poll, the handlers are
/// in place when this returns: a SIGTERM sent the moment after, say, the demo printed
/// that it is up, stops it in order instead of killing it with the default action.
pub fn listen_for_shutdown() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        let wait = |stream: std::io::Result<tokio::signal::unix::Signal>| async move {
            match stream {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                // No handler: never resolve, and the signal keeps its default action.
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = wait(interrupt) => tracing::info!("Ctrl-C: shutting down"),
            _ = wait(terminate) => tracing::info!("SIGTERM: shutting down"),
        }
    }
}

/// Runs one participant until a signal; the exit code says how it went.
pub async fn run(settings: Settings) -> ExitCode {
    let role = settings.role;
    let dir = settings.common.data_dir.clone();
    if let Err(e) = data_dir::prepare(&dir) {
        eprintln!("paymesh {role}: {e}");
        return ExitCode::from(2);
    }
    let _telemetry = shared::telemetry::init(
        &format!("paymesh-{role}.log"),
        Some(&dir.join("logs")),
        settings.common.max_log_files,
    );
    let window = settings.common.window;
    let ca_file = settings.common.ca_file.clone();
    let app = match App::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("paymesh {role}: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    for (what, file, password) in &app.generated {
        println!(
            "paymesh {role}: generated the {what} password, saved to {}: {password}",
            file.display()
        );
    }
    println!("paymesh {role}: listening on {}", app.base_url());
    if window {
        open_window(
            role,
            &app.base_url(),
            &app.admin_password,
            ca_file.as_deref(),
        );
    }
    match app.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paymesh {role}: server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--window`: hands the portal to kiosk-shell's ordinary window when a display exists.
/// The operator's credentials go through the environment (kiosk-shell reads
/// KIOSK_PORTAL_LOGIN/KIOSK_PORTAL_PASSWORD), not the command line that `ps` shows to
/// every user; a process's environment is readable by its own user and root only.
///
/// Closing the window ends only kiosk-shell. The other way round, the window goes with
/// the portal (a window on a portal that is gone only shows an error): it gets SIGTERM
/// when this process ends, however it ends. Called from `run`, which `main` polls on its
/// own thread (see [`children`]).
fn open_window(
    role: Role,
    base_url: &str,
    admin_password: &str,
    ca_file: Option<&std::path::Path>,
) {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        tracing::warn!(%role, "--window: no display (DISPLAY/WAYLAND_DISPLAY unset); serving without a window");
        return;
    }
    let shell = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("kiosk-shell")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("kiosk-shell"));
    match std::process::Command::new(&shell)
        .args(["--portal", &format!("{base_url}/"), "--window-only"])
        .args(
            ca_file
                .map(|f| ["--ca-file".as_ref(), f.as_os_str()])
                .into_iter()
                .flatten(),
        )
        // Only this portal's CA, never one from the caller's environment.
        .env_remove("KIOSK_CA_FILE")
        .env("KIOSK_PORTAL_LOGIN", ADMIN_LOGIN)
        .env("KIOSK_PORTAL_PASSWORD", admin_password)
        .die_with_parent(children::ParentDeathSignal::Terminate)
        .spawn()
    {
        Ok(mut child) => {
            tracing::info!(%role, "--window: opened the portal in kiosk-shell");
            // Reap it when the window closes; the portal keeps serving.
            std::thread::spawn(move || match child.wait() {
                Ok(status) => tracing::info!(%status, "--window: the window closed"),
                Err(e) => tracing::warn!(error = %e, "--window: lost track of kiosk-shell"),
            });
        }
        Err(e) => {
            tracing::warn!(%role, error = %e, shell = %shell.display(), "--window: cannot start kiosk-shell")
        }
    }
}
