//! `paymesh chaos`: a network of its own ([`network`]) — processing (one process on
//! SQLite, or several on PostgreSQL), two providers and four terminals (agents), all
//! processes of this binary, every link through a TCP proxy it controls — and customers
//! ([`customer`]) paying at the terminals at a concurrency, while [`faults`] SIGKILLs and
//! restarts participants of every kind at seeded points and cuts the links for a while.
//! Then it lets the network drain, reconciles each provider's registry, and reads every
//! database ([`check`]). The last line is the JSON of wire.md "Tools"; the exit code is 0
//! only when nothing was lost, doubled or made up.

pub mod check;
pub mod customer;
pub mod faults;
pub mod network;
pub mod proxy;

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Mutex;

use crate::bench::Admin;
use crate::cli::ChaosArgs;
use crate::server::db::Db;

/// Every participant's passwords in a chaos network — operator, kiosk, terminal (loopback
/// only, thrown away with the network).
const PASSWORD: &str = "chaos-operator";
/// How long the drain may take.
const DRAIN: Duration = Duration::from_secs(180);

/// A small deterministic generator (xorshift64*): the seed makes a run repeatable.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The operator API of the participant at `base` (every one has [`PASSWORD`]).
fn operator<'a>(client: &'a reqwest::Client, base: &'a str) -> Admin<'a> {
    Admin {
        client,
        base,
        password: PASSWORD,
    }
}

pub async fn run(args: ChaosArgs) -> ExitCode {
    // Interrupted, the run's future is dropped: its processes are killed with it (they are
    // spawned kill-on-drop), its PostgreSQL cluster stopped and its temporary data removed.
    let outcome = tokio::select! {
        outcome = chaos(args) => outcome,
        () = crate::server::shutdown_signal() => {
            eprintln!("paymesh chaos: interrupted; the network is stopped, nothing was checked");
            return ExitCode::from(130);
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("paymesh chaos: {e}");
            ExitCode::from(2)
        }
    }
}

async fn chaos(args: ChaosArgs) -> Result<bool, String> {
    if args.processing > 1 && !args.postgres {
        return Err("several processing processes share one database: add --postgres".to_owned());
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my executable: {e}"))?;
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let shape = network::Shape {
        processing: args.processing.max(1),
        postgres: args.postgres,
    };
    eprintln!(
        "paymesh chaos: seed {}, data in {}, processing: {} process(es) on {}",
        args.seed,
        dir.display(),
        shape.processing,
        if shape.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let first_day = time::OffsetDateTime::now_utc().date();
    let net = Arc::new(network::build(&exe, &dir, &client, &shape).await?);

    // The customers, at the terminals in turn, each to the providers in turn.
    let told_completed = Arc::new(Mutex::new(HashSet::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let gave_up = Arc::new(AtomicUsize::new(0));
    let mut customers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (net, client, next, told, answered, gave_up) = (
            net.clone(),
            client.clone(),
            next.clone(),
            told_completed.clone(),
            answered.clone(),
            gave_up.clone(),
        );
        let (total, seed) = (args.payments, args.seed);
        customers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    return;
                }
                let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x100_0000_01B3));
                let agent = &net.agents[i % net.agents.len()];
                let provider = &net.providers[(i / net.agents.len()) % net.providers.len()];
                let notes = customer::bills(|n| rng.below(n));
                match customer::pay(&client, agent, provider.id, &provider.account, i, &notes).await
                {
                    customer::Outcome::Receipt {
                        agent_txn_id,
                        status,
                    } => {
                        if status == "completed" {
                            told.lock().await.insert((agent.id, agent_txn_id));
                        }
                    }
                    customer::Outcome::GaveUp => {
                        gave_up.fetch_add(1, Ordering::SeqCst);
                    }
                }
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let faults = tokio::spawn(faults::run(
        faults::Plan {
            kills: args.kills,
            partition_s: args.partition_s,
            seed: args.seed,
            payments: args.payments,
        },
        net.clone(),
        client.clone(),
        exe.clone(),
        answered.clone(),
        finished.clone(),
    ));
    for customer in customers {
        customer
            .await
            .map_err(|e| format!("a customer stopped: {e}"))?;
    }
    finished.store(true, Ordering::SeqCst);
    let done = faults.await.map_err(|e| e.to_string())?;

    // The drain: every link up, every process running, until nothing is pending anywhere.
    for link in &net.provider_links {
        link.restore();
    }
    net.terminal_link.restore();
    drain(&net, &client).await;
    let ledger_ok = net
        .processing_call(&client, reqwest::Method::GET, "/ledger/verify")
        .await
        .is_ok_and(|v| v["ok"] == true);
    let registry = reconcile(&net, &client, first_day).await;
    net.stop().await;

    let processing = match &net.processing {
        network::ProcessingData::Sqlite(file) => Db::from(check::open_sqlite(file).await?),
        network::ProcessingData::Postgres { url, .. } => Db::Postgres(
            sqlx::PgPool::connect(url)
                .await
                .map_err(|e| format!("processing's database: {e}"))?,
        ),
    };
    let providers: Vec<(i64, &Path)> = net
        .providers
        .iter()
        .map(|p| (p.id, p.db_file.as_path()))
        .collect();
    let agents: Vec<(i64, &Path)> = net
        .agents
        .iter()
        .map(|a| (a.id, a.db_file.as_path()))
        .collect();
    let told = told_completed.lock().await.clone();
    let checked = check::check(check::Sources {
        processing: &processing,
        providers: &providers,
        agents: &agents,
        told_completed: &told,
    })
    .await;
    processing.close().await;
    if let network::ProcessingData::Postgres { cluster, .. } = &net.processing {
        cluster.stop();
    }
    let mut findings = checked?;
    findings.conservation_violations += done.snapshot_violations + i64::from(!ledger_ok);
    findings.registry_discrepancies += registry;
    println!(
        "{} payments: {} completed, {} failed, {} rejected; {} customers gave up; {} kills, {} s partitions",
        findings.payments,
        findings.completed,
        findings.failed,
        findings.rejected,
        gave_up.load(Ordering::SeqCst),
        done.kills,
        args.partition_s
    );
    println!(
        "lost {}, doubled {}, orphan credits {}, pending after the drain {}, conservation violations {}, registry discrepancies {}",
        findings.lost,
        findings.doubled,
        findings.orphan_credits,
        findings.pending_after_drain,
        findings.conservation_violations,
        findings.registry_discrepancies
    );
    println!(
        "{}",
        json!({
            "payments": findings.payments, "completed": findings.completed, "failed": findings.failed,
            "rejected": findings.rejected, "lost": findings.lost, "doubled": findings.doubled,
            "orphan_credits": findings.orphan_credits, "pending_after_drain": findings.pending_after_drain,
            "conservation_violations": findings.conservation_violations,
            "registry_discrepancies": findings.registry_discrepancies,
            "kills": done.kills, "partition_s": args.partition_s,
        })
    );
    Ok(findings.clean())
}

/// Waits (at most [`DRAIN`]) until processing has nothing pending and no terminal's
/// outbox holds a payment.
async fn drain(net: &network::Network, client: &reqwest::Client) {
    let started = Instant::now();
    while started.elapsed() < DRAIN {
        let processing_pending = net
            .processing_call(client, reqwest::Method::GET, "/payments?status=pending")
            .await
            .map_or(usize::MAX, |v| v.as_array().map_or(0, Vec::len));
        let mut outboxes = 0;
        for agent in &net.agents {
            outboxes += operator(client, &agent.url)
                .call(reqwest::Method::GET, "/status", None)
                .await
                .map_or(i64::MAX / 8, |v| v["outbox_pending"].as_i64().unwrap_or(0));
        }
        if processing_pending == 0 && outboxes == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "paymesh chaos: the network did not drain in {} s",
        DRAIN.as_secs()
    );
}

/// Each provider's registry of every day of the run held against its `verify` answer:
/// the number of payments found missing on either side or with another sum.
async fn reconcile(net: &network::Network, client: &reqwest::Client, first: time::Date) -> i64 {
    let last = time::OffsetDateTime::now_utc().date();
    let mut found = 0i64;
    for provider in &net.providers {
        let mut day = first;
        while day <= last {
            let path = format!("/registry/{}/{day}/discrepancies", provider.id);
            match net
                .processing_call(client, reqwest::Method::GET, &path)
                .await
            {
                Ok(d) => {
                    let listed = |key: &str| {
                        d[key]
                            .as_array()
                            .map_or(0, |a| i64::try_from(a.len()).unwrap_or(i64::MAX))
                    };
                    let n = listed("missing_at_provider")
                        + listed("missing_at_processing")
                        + listed("amount_differs");
                    if n > 0 || d["ok"] != true {
                        eprintln!(
                            "paymesh chaos: registry of {day}, provider {}: {d}",
                            provider.id
                        );
                        found += n.max(1);
                    }
                }
                Err(e) => {
                    eprintln!("paymesh chaos: registry of {day}: {e}");
                    found += 1;
                }
            }
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
    }
    found
}
