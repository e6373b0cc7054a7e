//! Test harness: a participant started in-process, and typed request helpers.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portals::role::Role;
use portals::server::db::Db;
use portals::server::{App, Settings, StartError};
use shared::config::CommonArgs;
use shared::outbound::Trust;
use shared::serve::ConnectionStats;
use sqlx::SqlitePool;
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "admin-test-password";
pub const KIOSK_PASSWORD: &str = "kiosk-test-password";
/// kiosk-shell's own credential at the agent (login `terminal`).
pub const TERMINAL_PASSWORD: &str = "terminal-test-password";

/// A running participant; stops (and deletes its data directory) when dropped.
pub struct TestApp {
    pub role: Role,
    pub addr: SocketAddr,
    /// `http://ADDR` or, serving TLS, `https://ADDR`.
    pub base_url: String,
    /// The participant's database: SQLite, or PostgreSQL for processing and the provider
    /// when the run has a cluster (`PAYMESH_TEST_POSTGRES`).
    pub db: Option<Db>,
    /// The same database when it is SQLite (the agent's always is).
    pub pool: Option<SqlitePool>,
    /// Trusts the system's roots plus the app's own `--ca-file`.
    pub client: reqwest::Client,
    /// The listener's connection counts.
    pub connections: Arc<ConnectionStats>,
    dir: Option<tempfile::TempDir>,
    data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub fn settings(role: Role, dir: PathBuf, admin_password: Option<&str>) -> Settings {
    let common = CommonArgs {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir: dir,
        admin_password: admin_password.map(str::to_owned),
        ..CommonArgs::default()
    };
    Settings {
        kiosk_password: Some(KIOSK_PASSWORD.to_owned()),
        terminal_password: Some(TERMINAL_PASSWORD.to_owned()),
        ..Settings::new(role, common)
    }
}

impl TestApp {
    /// Starts `role` with known admin and kiosk passwords.
    pub async fn spawn(role: Role) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_in(role, dir, Some(ADMIN_PASSWORD))
            .await
            .expect("participant starts")
    }

    pub async fn spawn_in(
        role: Role,
        dir: tempfile::TempDir,
        admin_password: Option<&str>,
    ) -> Result<TestApp, StartError> {
        Self::spawn_with(role, dir, admin_password, |_| {}).await
    }

    /// Starts `role` with settings adjusted by `adjust` (e.g. shorter retry delays).
    pub async fn spawn_with(
        role: Role,
        dir: tempfile::TempDir,
        admin_password: Option<&str>,
        adjust: impl FnOnce(&mut Settings),
    ) -> Result<TestApp, StartError> {
        let data_dir = dir.path().join("data");
        let mut settings = settings(role, data_dir.clone(), admin_password);
        adjust(&mut settings);
        // A failing test shows what its participants logged at WARN and above (nextest
        // prints a test's output only when it fails).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .with_writer(std::io::stderr)
            .try_init();
        if matches!(role, Role::Processing | Role::Provider)
            && settings.common.database_url.is_none()
            && let Some(server) = crate::pg_run::server_url()
        {
            settings.common.database_url =
                Some(crate::pg_run::database_for(&server, role, dir.path()).await);
        }
        let client = Trust::load(settings.common.ca_file.as_deref())
            .expect("the test's CA file")
            .client(Duration::from_secs(60))
            .expect("an HTTP client");
        let app = App::build(settings).await?;
        let (addr, db) = (app.addr, app.pool.clone());
        let pool = db.as_ref().and_then(Db::sqlite).cloned();
        let (base_url, connections) = (app.base_url(), app.connections.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Ok(TestApp {
            role,
            addr,
            base_url,
            db,
            pool,
            client,
            connections,
            dir: Some(dir),
            data_dir,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Opens the database of a stopped participant's directory, as its next start would
    /// (its SQLite file, or its PostgreSQL database in the PostgreSQL pass).
    pub async fn open_db(role: Role, dir: &tempfile::TempDir) -> Db {
        let url = match crate::pg_run::server_url() {
            Some(server) if matches!(role, Role::Processing | Role::Provider) => {
                Some(crate::pg_run::database_for(&server, role, dir.path()).await)
            }
            _ => None,
        };
        portals::server::db::open(
            role,
            &dir.path().join("data"),
            url.as_deref(),
            portals::server::db::Synchronous::Full,
        )
        .await
        .expect("the stopped participant's database opens")
    }

    /// A URL another process can open this participant's database with: its SQLite file,
    /// or its PostgreSQL database.
    pub fn database_url(&self) -> String {
        match self.db.as_ref() {
            Some(Db::Postgres(pool)) => {
                let options = pool.connect_options();
                format!(
                    "postgres://{}@{}:{}/{}",
                    options.get_username(),
                    options.get_host(),
                    options.get_port(),
                    options.get_database().unwrap_or_default()
                )
            }
            _ => format!(
                "sqlite:{}",
                self.data_dir.join(format!("{}.db", self.role)).display()
            ),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// Stops the participant, waits until it has let go of its data directory, and
    /// hands the directory back for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.dir.take().expect("the directory is still owned")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// A JSON request with Basic credentials: the status and the JSON body (`Null` if none).
pub async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    auth: (&str, &str),
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    send_to(&app.client, method, &app.url(path), auth, body).await
}

/// [`send`] to any URL: a participant that runs as its own process.
pub async fn send_to(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    auth: (&str, &str),
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = client.request(method, url).basic_auth(auth.0, Some(auth.1));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Polls until `poll` gives a value (`Err` carries what it saw instead), for up to 30 s;
/// then fails naming `what` and the last thing seen.
pub async fn eventually<T, F>(what: &str, poll: impl Fn() -> F) -> T
where
    F: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match poll().await {
            Ok(value) => return value,
            Err(last) => assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last seen: {last}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A client with reqwest's defaults. Tests build clients through here (or through a
/// [`TestApp`]): reqwest panics without the process's rustls provider, which this installs.
pub fn plain_client() -> reqwest::Client {
    shared::outbound::install_crypto_provider();
    reqwest::Client::new()
}

/// Now, as an `accepted_at` (RFC 3339, UTC). Processing refuses an acceptance older than
/// its `accepted_at_age_max` (366 days by default), so a payment meant to be accepted
/// "now" must say now, not a fixed day that ages out.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats as RFC 3339")
}

/// A server answering every request `200` with the JSON object `fields` padded (a
/// `padding` string) to more than `bytes`, streamed in 64 KiB chunks without a
/// Content-Length, so a client's cap must catch it while it arrives. Its address.
pub async fn oversized_json_server(fields: serde_json::Value, bytes: usize) -> SocketAddr {
    let mut answer = fields;
    answer["padding"] = serde_json::Value::String("x".repeat(bytes));
    let answer = answer.to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(move || {
        let chunks: Vec<axum::body::Bytes> = answer
            .as_bytes()
            .chunks(64 * 1024)
            .map(axum::body::Bytes::copy_from_slice)
            .collect();
        async move {
            let stream =
                futures::stream::iter(chunks.into_iter().map(Ok::<_, std::convert::Infallible>));
            axum::body::Body::from_stream(stream)
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}
