//! A password-guessing flood against a participant: `/healthz` p50/p99 and an
//! authenticated operator's p50/p99, first on a quiet server, then with `FLOOD` (default
//! 1,000) requests without credentials in flight (the cost of the requests alone), then
//! with as many wrong-password requests in flight. Shows that hashing runs on a
//! bounded pool with a bounded queue (what does not fit gets `503` at once) and that a
//! client whose credentials are already verified never waits for it.
//!
//! The flood comes from many loopback addresses (127.2.0.0/16 …), each moving on to a
//! fresh address when it is throttled (`429`), as a botnet would: so the pool, not the
//! per-address login throttle, is what is measured.
//!
//! `cargo bench -p portals --bench login_flood` (environment: `FLOOD`, default 1000;
//! `REQUESTS`, default 2000 per measurement; `CONCURRENCY`, default 4).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

mod load;

use load::{Run, load};
use portals::role::Role;
use portals::server::{App, Settings};
use shared::config::CommonArgs;

const PASSWORD: &str = "bench-operator-password";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn start(dir: &std::path::Path) -> SocketAddr {
    let common = CommonArgs {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir: dir.join("consumer"),
        admin_password: Some(PASSWORD.into()),
        ..CommonArgs::default()
    };
    let app = App::build(Settings::new(Role::Consumer, common))
        .await
        .expect("participant starts");
    let addr = app.addr;
    tokio::spawn(app.run_until(std::future::pending()));
    addr
}

/// `/healthz` and an authenticated GET, measured one after the other.
async fn measure(addr: SocketAddr, requests: usize, concurrency: usize) -> (Run, Run) {
    let client = reqwest::Client::new();
    let health_client = client.clone();
    let health = load(requests, concurrency, move |_| {
        let request = health_client.get(format!("http://{addr}/healthz"));
        async move {
            request
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;
    let authenticated = load(requests, concurrency, move |_| {
        let request = client
            .get(format!("http://{addr}/api/admin/v1/participant"))
            .basic_auth("admin", Some(PASSWORD));
        async move {
            request
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;
    (health, authenticated)
}

/// Hands out loopback source addresses, a fresh one each call.
fn next_address(counter: &AtomicU32) -> IpAddr {
    let n = counter.fetch_add(1, Ordering::Relaxed);
    // 127.2.0.1 upwards, skipping .0 and .255 host bytes.
    let host = 0x7f02_0000 + (n / 254) * 256 + (n % 254) + 1;
    IpAddr::V4(Ipv4Addr::from(host))
}

fn flood_client(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("client")
}

/// What the flood sends.
#[derive(Clone, Copy)]
enum Flood {
    /// No credentials: a `401` without hashing, the cost of the requests alone.
    Anonymous,
    /// The operator's login with a wrong password each time.
    WrongPasswords,
}

/// `in_flight` tasks sending `kind` until `stop`; the answers counted by status.
fn flood(
    addr: SocketAddr,
    kind: Flood,
    in_flight: usize,
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<BTreeMap<u16, u64>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let addresses = Arc::new(AtomicU32::new(0));
    (0..in_flight)
        .map(|i| {
            let (stop, answers, addresses) = (stop.clone(), answers.clone(), addresses.clone());
            tokio::spawn(async move {
                let mut client = flood_client(next_address(&addresses));
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let mut request = client.get(format!("http://{addr}/api/admin/v1/participant"));
                    if let Flood::WrongPasswords = kind {
                        request = request.basic_auth("admin", Some(format!("guess-{i}-{n}")));
                    }
                    let status = request
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    if let Ok(mut answers) = answers.lock() {
                        *answers.entry(status).or_default() += 1;
                    }
                    if status == 429 {
                        client = flood_client(next_address(&addresses));
                    }
                }
            })
        })
        .collect()
}

/// Measures while `in_flight` requests of `kind` are in flight, and prints it all.
async fn under_flood(addr: SocketAddr, kind: Flood, name: &str, settings: (usize, usize, usize)) {
    let (in_flight, requests, concurrency) = settings;
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(BTreeMap::new()));
    let flood_started = std::time::Instant::now();
    let flooders = flood(addr, kind, in_flight, stop.clone(), answers.clone());
    // Let the flood build up (fill the hashing queue) before measuring.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (health, authenticated) = measure(addr, requests, concurrency).await;
    let flood_seconds = flood_started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        let _ = flooder.await;
    }
    print(name, &health, &authenticated);
    let answers = answers.lock().map(|a| a.clone()).unwrap_or_default();
    let total: u64 = answers.values().sum();
    println!(
        "    flood answered {total} in {flood_seconds:.1} s ({:.0}/s): {}",
        total as f64 / flood_seconds,
        answers
            .iter()
            .map(|(status, n)| format!("{status}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn print(name: &str, health: &Run, authenticated: &Run) {
    println!("  {name}");
    for (what, run) in [("/healthz", health), ("authenticated", authenticated)] {
        println!(
            "    {what:<14} p50 {:>9.2?}   p99 {:>9.2?}   {:>7.0} /s",
            run.p50, run.p99, run.per_second
        );
    }
}

#[tokio::main]
async fn main() {
    let in_flight = env_number("FLOOD", 1000);
    let requests = env_number("REQUESTS", 2000);
    let concurrency = env_number("CONCURRENCY", 4);
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = start(dir.path()).await;

    println!(
        "login_flood: {requests} requests per measurement, {concurrency} in flight; floods of {in_flight} requests in flight"
    );
    // The operator's credentials are verified once here, then served from the cache.
    let (quiet_health, quiet_auth) = measure(addr, requests, concurrency).await;
    print("quiet", &quiet_health, &quiet_auth);
    let settings = (in_flight, requests, concurrency);
    let anonymous = format!("{in_flight} requests without credentials in flight");
    under_flood(addr, Flood::Anonymous, &anonymous, settings).await;
    let guessing = format!("{in_flight} wrong-password requests in flight");
    under_flood(addr, Flood::WrongPasswords, &guessing, settings).await;
    drop(dir);
}
