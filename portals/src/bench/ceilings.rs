//! The ceilings `paymesh bench --local` measures in the same run as the payments, so that
//! every figure is read against what this disk and this CPU can do at all: single-row
//! SQLite WAL commits (one row, one transaction, one fsync with `FULL`), and a plain axum
//! JSON echo loaded by the same generator as the payments.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use super::{Outcome, Plan, Summary, drive};

/// Single-row commits per second into a WAL SQLite file at `file`, for `how_long`.
pub async fn sqlite_commits(
    file: &Path,
    synchronous: &str,
    how_long: Duration,
) -> Result<f64, String> {
    let failed = |e: sqlx::Error| format!("{}: {e}", file.display());
    let mut connection = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::from_str(synchronous).map_err(|e| e.to_string())?)
        .connect()
        .await
        .map_err(failed)?;
    sqlx::query("CREATE TABLE IF NOT EXISTS commits (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)")
        .execute(&mut connection)
        .await
        .map_err(failed)?;
    let started = Instant::now();
    let mut commits = 0u64;
    while started.elapsed() < how_long {
        let mut tx = connection.begin().await.map_err(failed)?;
        sqlx::query("INSERT INTO commits (at) VALUES ($1)")
            .bind(i64::try_from(commits).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        commits += 1;
    }
    let rate = commits as f64 / started.elapsed().as_secs_f64();
    connection.close().await.map_err(failed)?;
    Ok(rate)
}

/// A plain axum handler that answers a JSON body with itself, loaded as `plan` says.
pub async fn axum_echo(client: &reqwest::Client, plan: &Plan) -> Result<Summary, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("the echo server: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the echo server: {e}"))?;
    let router = axum::Router::new().route(
        "/echo",
        axum::routing::post(|axum::Json(body): axum::Json<Value>| async move { axum::Json(body) }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let url = format!("http://{addr}/echo");
    let client = client.clone();
    let echoed = drive(plan, move |i| {
        let request = client
            .post(&url)
            .json(&serde_json::json!({"status": "completed", "i": i}));
        async move {
            let answer = request.send().await.map_err(|e| format!("echo {i}: {e}"))?;
            let body: Value = answer.json().await.map_err(|e| format!("echo {i}: {e}"))?;
            Ok(Outcome::of(body["status"].as_str().unwrap_or_default()))
        }
    })
    .await;
    server.abort();
    echoed
}
