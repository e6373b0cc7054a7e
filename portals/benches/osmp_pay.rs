//! OSMP `pay` throughput of a provider with durable commits (SQLite WAL,
//! `synchronous=FULL`), next to a plain axum handler served and loaded the same way in the
//! same run — the ratio says what the gateway costs over bare HTTP.
//!
//! `cargo bench -p portals --bench osmp_pay` (environment: `PAYS`, default 3000;
//! `CONCURRENCY`, default 16). Prints requests per second, p50/p99 latency and the ratio.

use std::net::SocketAddr;

mod load;

use load::load;
use portals::role::Role;
use portals::server::{App, Settings};
use shared::config::CommonArgs;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn plain_axum() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = axum::Router::new().route(
        "/plain",
        axum::routing::get(|| async { "<result>0</result>" }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

#[tokio::main]
async fn main() {
    let total = env_number("PAYS", 3000);
    let concurrency = env_number("CONCURRENCY", 16);
    let dir = tempfile::tempdir().expect("temp dir");
    let common = CommonArgs {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir: dir.path().join("provider"),
        admin_password: Some("bench".into()),
        ..CommonArgs::default()
    };
    let app = App::build(Settings::new(Role::Provider, common))
        .await
        .expect("provider starts");
    let addr = app.addr;
    tokio::spawn(app.run_until(std::future::pending()));

    // reqwest needs the process's rustls provider before its first client.
    shared::outbound::install_crypto_provider();
    let client = reqwest::Client::new();
    let admin = |path: &str| {
        client
            .post(format!("http://{addr}{path}"))
            .basic_auth("admin", Some("bench"))
    };
    let contract: serde_json::Value = admin("/api/admin/v1/subscribers")
        .json(&serde_json::json!({"full_name": "Bench Mark", "passport": "4510 123456", "email": "b@example.ru", "services": ["call"]}))
        .send().await.expect("sign").json().await.expect("contract");
    let processing: serde_json::Value = admin("/api/admin/v1/processing-contracts")
        .json(&serde_json::json!({"processing_name": "bench", "protocol": "osmp"}))
        .send()
        .await
        .expect("contract")
        .json()
        .await
        .expect("json");
    let account = contract["account"].as_str().expect("account").to_owned();
    let login = processing["login"].as_str().expect("login").to_owned();
    let password = processing["password"]
        .as_str()
        .expect("password")
        .to_owned();

    let pay_client = client.clone();
    let pays = load(total, concurrency, move |i| {
        let url = format!("http://{addr}/osmp?command=pay&txn_id={}&account={account}&sum=1.00&txn_date=20261126101500", i + 1);
        let request = pay_client.get(url).basic_auth(&login, Some(&password));
        async move {
            match request.send().await {
                Ok(r) => r.text().await.map(|t| t.contains("<result>0</result>")).unwrap_or(false),
                Err(_) => false,
            }
        }
    })
    .await;

    let plain_addr = plain_axum().await;
    let plain_client = client.clone();
    let plain = load(total, concurrency, move |_| {
        let request = plain_client.get(format!("http://{plain_addr}/plain"));
        async move {
            request
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;

    println!("osmp_pay: {total} pays, {concurrency} in flight, SQLite WAL synchronous=FULL");
    println!(
        "  OSMP pay      {:>9.0} req/s   p50 {:>8.2?}   p99 {:>8.2?}",
        pays.per_second, pays.p50, pays.p99
    );
    println!(
        "  plain axum    {:>9.0} req/s   p50 {:>8.2?}   p99 {:>8.2?}",
        plain.per_second, plain.p50, plain.p99
    );
    println!(
        "  ratio         {:>9.1}x (plain / pay)",
        plain.per_second / pays.per_second
    );
}
