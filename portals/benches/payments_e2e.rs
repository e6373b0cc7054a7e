//! End-to-end payments per second: agent API → processing → provider (OSMP) — each
//! payment reserved, paid and settled, with SQLite `synchronous=FULL` and then `NORMAL`
//! on both participants, next to a plain axum handler loaded the same way in the same run.
//!
//! `cargo bench -p portals --bench payments_e2e` (environment: `PAYMENTS`, default 2000;
//! `CONCURRENCY`, default 16). Prints payments per second, p50/p99 and the ratios.

use std::net::SocketAddr;

mod load;

use load::{Run, load};
use portals::role::Role;
use portals::server::{App, Settings};
use serde_json::{Value, json};
use shared::config::CommonArgs;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn start(role: Role, dir: &std::path::Path, synchronous: &str) -> SocketAddr {
    let common = CommonArgs {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir: dir.join(role.as_str()),
        admin_password: Some("bench".into()),
        sqlite_synchronous: synchronous.into(),
        ..CommonArgs::default()
    };
    let app = App::build(Settings::new(role, common))
        .await
        .expect("participant starts");
    let addr = app.addr;
    tokio::spawn(app.run_until(std::future::pending()));
    addr
}

async fn post(client: &reqwest::Client, url: String, auth: (&str, &str), body: Value) -> Value {
    client
        .post(url)
        .basic_auth(auth.0, Some(auth.1))
        .json(&body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

/// A provider and a processing center wired together, and an agent with a large deposit.
async fn network(
    client: &reqwest::Client,
    synchronous: &str,
    dir: &std::path::Path,
) -> (SocketAddr, String, String, String, i64) {
    let provider = start(Role::Provider, dir, synchronous).await;
    let processing = start(Role::Processing, dir, synchronous).await;
    let admin = ("admin", "bench");
    let subscriber = post(client, format!("http://{provider}/api/admin/v1/subscribers"), admin,
        json!({"full_name": "Bench Mark", "passport": "4510 123456", "email": "b@example.ru", "services": ["call"]})).await;
    let contract = post(
        client,
        format!("http://{provider}/api/admin/v1/processing-contracts"),
        admin,
        json!({"processing_name": "bench", "protocol": "osmp"}),
    )
    .await;
    let provider_row = post(client, format!("http://{processing}/api/admin/v1/providers"), admin, json!({
        "name": "bench", "service_kind": "mobile", "endpoint_url": contract["endpoint_url"], "protocol": "osmp",
        "login": contract["login"], "password": contract["password"], "fields": contract["fields"],
        "min_amount": contract["min_amount"], "max_amount": contract["max_amount"]})).await;
    let agent = post(
        client,
        format!("http://{processing}/api/admin/v1/agents"),
        admin,
        json!({"name": "bench", "fee": {"percent_bp": 100}}),
    )
    .await;
    post(
        client,
        format!(
            "http://{processing}/api/admin/v1/agents/{}/topups",
            agent["agent_id"]
        ),
        admin,
        json!({"amount": 10_000_000_000i64, "reference": "bench"}),
    )
    .await;
    (
        processing,
        agent["login"].as_str().expect("login").to_owned(),
        agent["password"].as_str().expect("password").to_owned(),
        subscriber["account"].as_str().expect("account").to_owned(),
        provider_row["provider_id"].as_i64().expect("provider id"),
    )
}

async fn payments(
    client: &reqwest::Client,
    synchronous: &str,
    total: usize,
    concurrency: usize,
) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let (processing, login, password, account, provider_id) =
        network(client, synchronous, dir.path()).await;
    let client = client.clone();
    let accepted_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a UTC time formats as RFC 3339");
    let run = load(total, concurrency, move |i| {
        let body = json!({"agent_txn_id": format!("B-{i}"), "provider_id": provider_id, "account": account,
            "cash": 10_000, "agent_fee": 0, "amount": 10_000, "accepted_at": accepted_at});
        let request = client.post(format!("http://{processing}/api/agent/v1/payments")).basic_auth(&login, Some(&password)).json(&body);
        async move {
            match request.send().await {
                Ok(r) => r.json::<Value>().await.map(|p| p["status"] == "completed").unwrap_or(false),
                Err(_) => false,
            }
        }
    })
    .await;
    drop(dir);
    run
}

#[tokio::main]
async fn main() {
    let total = env_number("PAYMENTS", 2000);
    let concurrency = env_number("CONCURRENCY", 16);
    // reqwest needs the process's rustls provider before its first client.
    shared::outbound::install_crypto_provider();
    let client = reqwest::Client::new();
    let full = payments(&client, "full", total, concurrency).await;
    let normal = payments(&client, "normal", total, concurrency).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let plain_addr = listener.local_addr().expect("addr");
    let router = axum::Router::new().route(
        "/plain",
        axum::routing::post(|| async { "{\"status\":\"completed\"}" }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let plain_client = client.clone();
    let plain = load(total, concurrency, move |_| {
        let request = plain_client
            .post(format!("http://{plain_addr}/plain"))
            .body("{}");
        async move {
            request
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;

    println!(
        "payments_e2e: {total} payments, {concurrency} in flight (agent API → processing → provider OSMP)"
    );
    for (name, run) in [
        ("synchronous=FULL", &full),
        ("synchronous=NORMAL", &normal),
        ("plain axum", &plain),
    ] {
        println!(
            "  {name:<20} {:>9.0} /s   p50 {:>9.2?}   p99 {:>9.2?}",
            run.per_second, run.p50, run.p99
        );
    }
    println!(
        "  NORMAL / FULL        {:>9.2}x",
        normal.per_second / full.per_second
    );
    println!(
        "  plain / FULL         {:>9.1}x",
        plain.per_second / full.per_second
    );
}
