//! Several processing processes on one database (issue #15): they serve one processing
//! center with every guarantee intact. Run on SQLite (two processes on one file) and, in
//! the PostgreSQL pass of `./paymesh test`, on PostgreSQL.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use portals::role::Role;
use portals::server::db;
use serde_json::Value;

use crate::helpers::{ADMIN_PASSWORD, TestApp};
use crate::processing::Network;

const BIN: &str = env!("CARGO_BIN_EXE_paymesh");

/// A processing process of its own; SIGKILLed when dropped.
struct Process {
    child: Child,
    addr: std::net::SocketAddr,
    base_url: String,
    _dir: tempfile::TempDir,
}

impl Process {
    /// `paymesh processing` on the database of `beside`, with its short timeouts.
    fn start(beside: &TestApp) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let child = Command::new(BIN)
            .args(["processing", "--listen", &addr.to_string()])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--database-url", &beside.database_url()])
            .args(["--admin-password", ADMIN_PASSWORD])
            .args([
                "--provider-timeout-ms",
                "1000",
                "--retry-delay-ms-max",
                "200",
            ])
            .env("PAYMESH_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("paymesh processing starts");
        let process = Process {
            child,
            addr,
            base_url: format!("http://{addr}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "the second process never listened"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        process
    }

    fn kill(&mut self) {
        // SIGKILL: no shutdown, no last word to the database.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One payment's request to one process (or to HAProxy): `None` when no process answered
/// — the connection failed, or HAProxy said the process it chose went away (502–504).
async fn pay_at(client: &reqwest::Client, base: &str, n: &Network, body: &Value) -> Option<u16> {
    let answer = client
        .post(format!("{base}/api/agent/v1/payments"))
        .basic_auth(&n.agent_login, Some(&n.agent_password))
        .json(body)
        .send()
        .await
        .ok()?;
    let status = answer.status().as_u16();
    (!(502..=504).contains(&status)).then_some(status)
}

async fn count(pool: &db::Db, sql: &'static str) -> i64 {
    let (n,): (i64,) = db::query_as(sql).fetch_one(pool).await.unwrap();
    n
}

/// 2,000 payments at 64 in flight, spread over two processes on one database by HAProxy
/// (`deploy/haproxy.cfg`; a round-robin client where HAProxy is not installed); every
/// tenth is sent to both processes at once under one `agent_txn_id`, and the second
/// process is SIGKILLed a third of the way through (what it was answering is sent again
/// to the first, as a terminal would). Afterwards each payment is credited exactly once
/// at the provider, none is left pending, and the ledger balances.
#[tokio::test]
async fn two_processes_on_one_database_take_2000_payments_and_survive_a_sigkill() {
    const PAYMENTS: usize = 2_000;
    const IN_FLIGHT: usize = 64;
    const AMOUNT: i64 = 1_000;
    let n = Arc::new(Network::start().await);
    let total = i64::try_from(PAYMENTS).unwrap() * (AMOUNT + crate::processing::fee_of(AMOUNT));
    assert_eq!(n.top_up(total, "scale-out").await.0, 200);
    let second = Arc::new(std::sync::Mutex::new(Process::start(&n.processing)));
    let second_url = second.lock().unwrap().base_url.clone();
    let first_url = n.processing.base_url.clone();
    let proxy_dir = tempfile::tempdir().unwrap();
    let front = match portals::demo::haproxy::binary() {
        Some(_) => {
            let listen = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap();
            let servers = [
                ("processing-1".to_owned(), n.processing.addr),
                ("processing-2".to_owned(), second.lock().unwrap().addr),
            ];
            let child = portals::demo::haproxy::start(proxy_dir.path(), listen, &servers)
                .expect("haproxy starts");
            let url = format!("http://{listen}");
            let deadline = Instant::now() + Duration::from_secs(30);
            while reqwest::get(format!("{url}/healthz"))
                .await
                .map(|r| r.status().as_u16())
                .ok()
                != Some(200)
            {
                assert!(Instant::now() < deadline, "HAProxy never answered");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Some((child, url))
        }
        None => {
            eprintln!("HAProxy is not installed: a round-robin client stands in for it");
            None
        }
    };
    let front_url = front.as_ref().map(|(_, url)| url.clone());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .unwrap();

    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (n, client, next, done, second) = (
            n.clone(),
            client.clone(),
            next.clone(),
            done.clone(),
            second.clone(),
        );
        let (first_url, second_url, front_url) =
            (first_url.clone(), second_url.clone(), front_url.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= PAYMENTS {
                    return;
                }
                let body = n.payment_body(&format!("S-{i}"), AMOUNT);
                // Round robin, as a load balancer would; every tenth to both at once.
                let (a, b) = if i % 2 == 0 {
                    (&first_url, &second_url)
                } else {
                    (&second_url, &first_url)
                };
                let answered = if i % 10 == 0 {
                    let (x, y) =
                        tokio::join!(pay_at(&client, a, &n, &body), pay_at(&client, b, &n, &body));
                    x.or(y)
                } else {
                    pay_at(&client, front_url.as_deref().unwrap_or(a), &n, &body).await
                };
                // A process that did not answer (killed): the terminal sends the same
                // payment again, and the other process takes it.
                let status = match answered {
                    Some(status) => status,
                    None => pay_at(&client, &first_url, &n, &body)
                        .await
                        .expect("the surviving process answers"),
                };
                assert!(status == 200 || status == 201, "payment S-{i}: {status}");
                if done.fetch_add(1, Ordering::SeqCst) + 1 == PAYMENTS / 3 {
                    second.lock().unwrap().kill();
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }

    // The payments the killed process held leases on are taken over when the leases run
    // out (provider timeout + 10 s).
    let processing = n.processing.db.as_ref().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while count(
        processing,
        "SELECT COUNT(*) FROM payments WHERE status = 'pending'",
    )
    .await
        > 0
    {
        assert!(
            Instant::now() < deadline,
            "payments still pending after 90 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let completed = count(
        processing,
        "SELECT COUNT(*) FROM payments WHERE status = 'completed'",
    )
    .await;
    assert_eq!(
        completed,
        i64::try_from(PAYMENTS).unwrap(),
        "every payment completed"
    );
    let provider = n.provider.db.as_ref().unwrap();
    let credited = count(provider, "SELECT COUNT(*) FROM payments").await;
    let distinct = count(provider, "SELECT COUNT(DISTINCT txn_id) FROM payments").await;
    assert_eq!(
        (credited, distinct),
        (completed, completed),
        "each credited exactly once"
    );
    // The provider credited exactly the payments processing completed, by their ids.
    let mut at_processing: Vec<(i64,)> =
        db::query_as("SELECT id FROM payments WHERE status = 'completed'")
            .fetch_all(processing)
            .await
            .unwrap();
    let mut at_provider: Vec<(String,)> = db::query_as("SELECT txn_id FROM payments")
        .fetch_all(provider)
        .await
        .unwrap();
    at_processing.sort();
    at_provider.sort_by_key(|(id,)| id.parse::<i64>().unwrap_or(-1));
    let at_provider: Vec<(i64,)> = at_provider
        .into_iter()
        .map(|(id,)| (id.parse().unwrap(),))
        .collect();
    assert_eq!(at_processing, at_provider);
    n.assert_ledger_verifies().await;
    assert_eq!(
        n.account_balance(&format!("provider:{}", n.provider_id))
            .await,
        completed * AMOUNT,
        "the ledger owes the provider what it credited"
    );
}

/// A periodic job (the retention sweep) runs once per period however many processes
/// serve the database: the first claim of a period wins, the others skip.
#[tokio::test]
async fn a_period_is_claimed_by_one_process() {
    let app = TestApp::spawn(Role::Processing).await;
    let pool = app.db.as_ref().unwrap();
    let beside = TestApp::spawn_with(
        Role::Processing,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        |s| s.common.database_url = Some(app.database_url()),
    )
    .await
    .unwrap();
    let every = Duration::from_secs(3_600);
    let (a, b) = tokio::join!(
        portals::server::periodic::claim(pool, "test-job", every),
        portals::server::periodic::claim(beside.db.as_ref().unwrap(), "test-job", every),
    );
    let mut claims = [a.unwrap(), b.unwrap()];
    claims.sort();
    assert_eq!(claims, [false, true], "exactly one process runs the period");
    assert!(
        portals::server::periodic::claim(pool, "other-job", every)
            .await
            .unwrap(),
        "another job's period is its own"
    );
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM periodic_runs WHERE job = 'test-job'"
        )
        .await,
        1
    );
}
