//! End-to-end payments per second of one processing center as it scales out: SQLite with
//! one processing process, then PostgreSQL with 1, 2 and 3 processing processes (real
//! `paymesh processing` processes on one database, the load spread round robin as a load
//! balancer would), next to `pgbench`'s TPC-B-like transactions per second on the same
//! cluster — the database's own ceiling on this machine, measured in the same run.
//!
//! `cargo bench -p portals --bench scale_out` (environment: `PAYMENTS`, default 3000;
//! `CONCURRENCY`, default 32; `PGBENCH_SECONDS`, default 10). PostgreSQL must be installed
//! (`scripts/install-deps.sh --test`). The cluster keeps PostgreSQL's durable defaults
//! (`fsync=on`, `synchronous_commit=on`): a payment is answered after its commit reached
//! the disk, as on SQLite with `synchronous=FULL`.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod load;

use load::{Run, load};
use portals::demo::postgres::{Cluster, Durability};
use portals::role::Role;
use portals::server::{App, Settings};
use serde_json::{Value, json};
use shared::config::CommonArgs;

const BIN: &str = env!("CARGO_BIN_EXE_paymesh");

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("addr")
}

/// A processing process; killed when dropped.
struct Processing(Child);

impl Drop for Processing {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_processing(dir: &std::path::Path, addr: SocketAddr, database_url: &str) -> Processing {
    let child = Command::new(BIN)
        .args(["processing", "--listen", &addr.to_string()])
        .arg("--data-dir")
        .arg(dir)
        .args(["--database-url", database_url, "--admin-password", "bench"])
        .env("PAYMESH_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("paymesh processing starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "processing never listened on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Processing(child)
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    client
        .post(url)
        .basic_auth("admin", Some("bench"))
        .json(&body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

/// The provider every run pays (in this process, on SQLite): its OSMP endpoint, the
/// contract's credentials and a subscriber's account.
async fn provider(client: &reqwest::Client, dir: &std::path::Path) -> (Value, String) {
    let common = CommonArgs {
        listen: Some(free_addr()),
        data_dir: dir.join("provider"),
        admin_password: Some("bench".into()),
        ..CommonArgs::default()
    };
    let app = App::build(Settings::new(Role::Provider, common))
        .await
        .expect("provider starts");
    let addr = app.addr;
    tokio::spawn(app.run_until(std::future::pending()));
    let subscriber = post(client, format!("http://{addr}/api/admin/v1/subscribers"),
        json!({"full_name": "Bench Mark", "passport": "4510 123456", "email": "b@example.ru", "services": ["call"]})).await;
    let contract = post(
        client,
        format!("http://{addr}/api/admin/v1/processing-contracts"),
        json!({"processing_name": "bench", "protocol": "osmp"}),
    )
    .await;
    (
        contract,
        subscriber["account"].as_str().expect("account").to_owned(),
    )
}

/// `processes` processing processes on `database_url`, wired to the provider; the load.
async fn run(
    client: &reqwest::Client,
    database_url: &str,
    processes: usize,
    (contract, account): &(Value, String),
    total: usize,
    concurrency: usize,
) -> Run {
    let dirs: Vec<tempfile::TempDir> = (0..processes)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    let addrs: Vec<SocketAddr> = (0..processes).map(|_| free_addr()).collect();
    let _running: Vec<Processing> = dirs
        .iter()
        .zip(&addrs)
        .map(|(dir, addr)| start_processing(dir.path(), *addr, database_url))
        .collect();
    let first = addrs[0];
    let provider_row = post(client, format!("http://{first}/api/admin/v1/providers"), json!({
        "name": "bench", "service_kind": "mobile", "endpoint_url": contract["endpoint_url"], "protocol": "osmp",
        "login": contract["login"], "password": contract["password"], "fields": contract["fields"],
        "min_amount": contract["min_amount"], "max_amount": contract["max_amount"]})).await;
    let agent = post(
        client,
        format!("http://{first}/api/admin/v1/agents"),
        json!({"name": "bench", "fee": {"percent_bp": 100}}),
    )
    .await;
    post(
        client,
        format!(
            "http://{first}/api/admin/v1/agents/{}/topups",
            agent["agent_id"]
        ),
        json!({"amount": 10_000_000_000i64, "reference": "bench"}),
    )
    .await;
    let provider_id = provider_row["provider_id"].as_i64().expect("provider id");
    let login = agent["login"].as_str().expect("login").to_owned();
    let password = agent["password"].as_str().expect("password").to_owned();
    let accepted_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a UTC time formats as RFC 3339");
    let client = client.clone();
    let account = account.clone();
    // Distinct ids per run: every run pays the same provider.
    let prefix = format!("{}-{processes}-", database_url.len());
    load(total, concurrency, move |i| {
        let body = json!({"agent_txn_id": format!("{prefix}{i}"), "provider_id": provider_id, "account": account,
            "cash": 10_000, "agent_fee": 0, "amount": 10_000, "accepted_at": accepted_at});
        let addr = addrs[i % addrs.len()];
        let request = client
            .post(format!("http://{addr}/api/agent/v1/payments"))
            .basic_auth(&login, Some(&password))
            .json(&body);
        async move {
            let answer = match request.send().await {
                Ok(r) => r.json::<Value>().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match answer {
                Ok(payment) if payment["status"] == "completed" => true,
                other => {
                    eprintln!("payment {i}: {other:?}");
                    false
                }
            }
        }
    })
    .await
}

/// pgbench's TPC-B-like transactions per second on database `pgbench` of the cluster.
fn pgbench(cluster: &Cluster, seconds: usize, clients: usize) -> Option<f64> {
    let bin = portals::demo::postgres::binaries()?.join("pgbench");
    let port = cluster.port.to_string();
    let base = ["-h", "127.0.0.1", "-p", port.as_str(), "-U", "postgres"];
    let init = Command::new(&bin)
        .args(base)
        .args(["-i", "-q", "-s", "4", "pgbench"])
        .output()
        .ok()?;
    if !init.status.success() {
        eprintln!("pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
        return None;
    }
    let run = Command::new(&bin)
        .args(base)
        .args(["-n", "-T", &seconds.to_string()])
        .args(["-c", &clients.to_string(), "-j", "2", "pgbench"])
        .output()
        .ok()?;
    if !run.status.success() {
        eprintln!("pgbench: {}", String::from_utf8_lossy(&run.stderr));
    }
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
}

#[tokio::main]
async fn main() {
    let total = env_number("PAYMENTS", 3000);
    let concurrency = env_number("CONCURRENCY", 32);
    let pgbench_seconds = env_number("PGBENCH_SECONDS", 10);
    shared::outbound::install_crypto_provider();
    let client = reqwest::Client::new();
    let work = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::start(
        &work.path().join("postgres"),
        free_addr().port(),
        Durability::Durable,
    )
    .expect("PostgreSQL starts (scripts/install-deps.sh --test installs it)");
    let provider = provider(&client, work.path()).await;

    let mut rows = Vec::new();
    let sqlite = format!("sqlite:{}", work.path().join("processing.db").display());
    rows.push((
        "SQLite, 1 process".to_owned(),
        run(&client, &sqlite, 1, &provider, total, concurrency).await,
    ));
    for processes in 1..=3 {
        let url = cluster
            .database(&format!("processing_{processes}"))
            .await
            .expect("a database");
        rows.push((
            format!(
                "PostgreSQL, {processes} process{}",
                if processes == 1 { "" } else { "es" }
            ),
            run(&client, &url, processes, &provider, total, concurrency).await,
        ));
    }
    cluster
        .database("pgbench")
        .await
        .expect("a database for pgbench");
    let tps = pgbench(&cluster, pgbench_seconds, concurrency.min(16));

    println!(
        "scale_out: {total} payments, {concurrency} in flight (agent API → processing → provider OSMP), fsync on"
    );
    for (name, run) in &rows {
        let ratio = tps.map_or(String::new(), |tps| {
            format!("   {:>5.1}% of pgbench", run.per_second / tps * 100.0)
        });
        println!(
            "  {name:<24} {:>8.0} payments/s   p50 {:>9.2?}   p99 {:>9.2?}{ratio}",
            run.per_second, run.p50, run.p99
        );
    }
    match tps {
        Some(tps) => println!(
            "  pgbench TPC-B-like       {tps:>8.0} transactions/s ({} clients, {pgbench_seconds} s, same cluster)",
            concurrency.min(16)
        ),
        None => println!("  pgbench: not run (no pgbench in /usr/lib/postgresql/*/bin)"),
    }
    cluster.stop();
}
