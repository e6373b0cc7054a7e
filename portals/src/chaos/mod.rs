//! `paymesh chaos`: a network of its own — processing and two providers as processes of
//! this binary, each provider behind a TCP proxy it controls, the terminals' link to
//! processing behind another — payments sent at a concurrency by terminals that resend
//! every unanswered payment under its own `agent_txn_id`, while it SIGKILLs and restarts
//! participants at seeded random points and cuts the links for a while. Then it lets the
//! network drain and reads every database ([`check`]). The last line is the JSON of
//! wire.md "Tools"; the exit code is 0 only when nothing was lost, doubled or made up.

pub mod check;
pub mod proxy;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use crate::bench::Admin;
use crate::cli::ChaosArgs;
use proxy::ChaosProxy;

/// Every participant's operator password in a chaos network (loopback only, thrown away).
const PASSWORD: &str = "chaos-operator";
/// Terminals this network has.
const AGENTS: usize = 4;
/// How long a terminal keeps resending one payment before it gives up on it.
const RESEND_FOR: Duration = Duration::from_secs(180);
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

/// One participant process: how to start it again after a kill.
struct Node {
    name: String,
    args: Vec<String>,
    addr: SocketAddr,
    child: Option<Child>,
}

impl Node {
    fn start(&mut self, exe: &Path) -> Result<(), String> {
        let child = Command::new(exe)
            .args(&self.args)
            .env("PAYMESH_ADMIN_PASSWORD", PASSWORD)
            .env("PAYMESH_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.name))?;
        self.child = Some(child);
        Ok(())
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn free_addr() -> Result<SocketAddr, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))
}

async fn healthy(client: &reqwest::Client, node: &Node) -> Result<(), String> {
    if crate::demo::wait_healthy(&format!("{}/healthz", node.url()), client).await {
        Ok(())
    } else {
        Err(format!("{} did not come up", node.name))
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

/// What the network is made of, once its contracts are signed.
struct Network {
    nodes: Vec<Arc<Mutex<Node>>>,
    /// processing → each provider.
    provider_links: Vec<ChaosProxy>,
    /// the terminals → processing.
    terminal_link: ChaosProxy,
    /// (provider id at processing, its account, its database file)
    providers: Vec<(i64, String, PathBuf)>,
    /// (login, password) of each terminal at processing.
    agents: Vec<(String, String)>,
    processing_db: PathBuf,
}

async fn build(exe: &Path, dir: &Path, client: &reqwest::Client) -> Result<Network, String> {
    let mut nodes = Vec::new();
    let mut provider_links = Vec::new();
    let mut providers = Vec::new();
    let processing_addr = free_addr()?;
    for k in 1..=2 {
        let addr = free_addr()?;
        let data = dir.join(format!("provider-{k}"));
        let mut node = Node {
            name: format!("provider-{k}"),
            args: vec![
                "provider".into(),
                "--listen".into(),
                addr.to_string(),
                "--data-dir".into(),
                data.display().to_string(),
                "--name".into(),
                format!("Chaos {k}"),
            ],
            addr,
            child: None,
        };
        node.start(exe)?;
        healthy(client, &node).await?;
        let link = ChaosProxy::start(addr)
            .await
            .map_err(|e| format!("a proxy for provider-{k}: {e}"))?;
        let subscriber = operator(client, &node.url()).call(reqwest::Method::POST, "/subscribers", Some(json!({
            "full_name": (["Хаос Тест", "Сбой Проверка"][k - 1]), "passport": "4510 123456", "email": "chaos@example.ru", "services": ["call"]
        }))).await?;
        let contract = operator(client, &node.url())
            .call(
                reqwest::Method::POST,
                "/processing-contracts",
                Some(json!({"processing_name": "chaos", "protocol": "osmp"})),
            )
            .await?;
        let endpoint = contract["endpoint_url"]
            .as_str()
            .unwrap_or_default()
            .replace(&addr.to_string(), &link.addr.to_string());
        providers.push((
            contract,
            endpoint,
            subscriber["account"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            data.join("provider.db"),
        ));
        provider_links.push(link);
        nodes.push(Arc::new(Mutex::new(node)));
    }
    let data = dir.join("processing");
    let mut processing = Node {
        name: "processing".into(),
        args: vec![
            "processing".into(),
            "--listen".into(),
            processing_addr.to_string(),
            "--data-dir".into(),
            data.display().to_string(),
            "--provider-timeout-ms".into(),
            "2000".into(),
            "--retry-delay-ms-max".into(),
            "500".into(),
        ],
        addr: processing_addr,
        child: None,
    };
    processing.start(exe)?;
    healthy(client, &processing).await?;
    let base = processing.url();
    let mut signed = Vec::new();
    for (contract, endpoint, account, file) in providers {
        let row = operator(client, &base).call(reqwest::Method::POST, "/providers", Some(json!({
            "name": format!("chaos-{}", signed.len() + 1), "service_kind": "mobile", "endpoint_url": endpoint,
            "protocol": "osmp", "login": contract["login"], "password": contract["password"],
            "fields": contract["fields"], "min_amount": contract["min_amount"], "max_amount": contract["max_amount"]
        }))).await?;
        signed.push((row["provider_id"].as_i64().unwrap_or(0), account, file));
    }
    let mut agents = Vec::new();
    for k in 0..AGENTS {
        let agent = operator(client, &base)
            .call(
                reqwest::Method::POST,
                "/agents",
                Some(json!({"name": format!("Терминал {}", k + 1), "fee": {"percent_bp": 100}})),
            )
            .await?;
        operator(client, &base)
            .call(
                reqwest::Method::POST,
                &format!("/agents/{}/topups", agent["agent_id"]),
                Some(json!({"amount": 50_000_000_000i64, "reference": format!("chaos-{k}")})),
            )
            .await?;
        agents.push((
            agent["login"].as_str().unwrap_or_default().to_owned(),
            agent["password"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let terminal_link = ChaosProxy::start(processing_addr)
        .await
        .map_err(|e| format!("a proxy for processing: {e}"))?;
    nodes.insert(0, Arc::new(Mutex::new(processing)));
    Ok(Network {
        nodes,
        provider_links,
        terminal_link,
        providers: signed,
        agents,
        processing_db: data.join("processing.db"),
    })
}

pub async fn run(args: ChaosArgs) -> ExitCode {
    match chaos(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("paymesh chaos: {e}");
            ExitCode::from(2)
        }
    }
}

async fn chaos(args: ChaosArgs) -> Result<bool, String> {
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
    eprintln!(
        "paymesh chaos: seed {}, data in {}",
        args.seed,
        dir.display()
    );
    let net = Arc::new(build(&exe, &dir, &client).await?);

    // The terminals: each payment is resent until it has an answer.
    let told_completed = Arc::new(Mutex::new(HashSet::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    // Payments the terminals are done with: the faults are spread over the run by it.
    let answered = Arc::new(AtomicUsize::new(0));
    let accepted_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())?;
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (net, client, next, told, answered) = (
            net.clone(),
            client.clone(),
            next.clone(),
            told_completed.clone(),
            answered.clone(),
        );
        let (accepted_at, total, seed) = (accepted_at.clone(), args.payments, args.seed);
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    return;
                }
                let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x100_0000_01B3));
                let (login, password) = &net.agents[i % net.agents.len()];
                let (provider_id, account, _) = &net.providers[(i / net.agents.len()) % net.providers.len()];
                let amount = 1_000 + 100 * i64::try_from(rng.below(100)).unwrap_or(0);
                let txn = format!("C-{i}");
                let body = json!({"agent_txn_id": txn, "provider_id": provider_id, "account": account,
                    "cash": amount, "agent_fee": 0, "amount": amount, "accepted_at": accepted_at});
                let url = format!("http://{}/api/agent/v1/payments", net.terminal_link.addr);
                let started = Instant::now();
                while started.elapsed() < RESEND_FOR {
                    let answer = client.post(&url).basic_auth(login, Some(password)).json(&body).send().await;
                    if let Ok(r) = answer
                        && r.status().is_success()
                        && let Ok(p) = r.json::<Value>().await
                    {
                        if p["status"] == "completed" {
                            told.lock().await.insert(txn.clone());
                        }
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }

    // The faults, at seeded points while the payments run.
    let faults = {
        let (net, client, finished, exe, answered) = (
            net.clone(),
            client.clone(),
            finished.clone(),
            exe.clone(),
            answered.clone(),
        );
        let (kills, partition_s, seed, total) =
            (args.kills, args.partition_s, args.seed, args.payments);
        tokio::spawn(async move {
            let mut rng = Rng::new(seed);
            let mut done = 0;
            let mut partitioned = false;
            let mut violations = 0i64;
            while done < kills || (!partitioned && partition_s > 0) {
                // Fault k waits for its share of the run (the k+1-th of kills+2 parts), so
                // the faults are spread over the payments, not crowded at the start.
                let share = total * (done + 1) / (kills + 2);
                while answered.load(Ordering::SeqCst) < share && !finished.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                tokio::time::sleep(Duration::from_millis(100 + rng.below(400))).await;
                if !partitioned && partition_s > 0 && done * 2 >= kills {
                    partitioned = true;
                    let cut = Duration::from_secs(partition_s);
                    eprintln!("paymesh chaos: cutting processing ⇄ providers for {partition_s} s");
                    for link in &net.provider_links {
                        link.break_link();
                    }
                    tokio::time::sleep(cut).await;
                    for link in &net.provider_links {
                        link.restore();
                    }
                    eprintln!("paymesh chaos: cutting terminals ⇄ processing for {partition_s} s");
                    net.terminal_link.break_link();
                    tokio::time::sleep(cut).await;
                    net.terminal_link.restore();
                    continue;
                }
                if done < kills {
                    let victim = usize::try_from(rng.below(net.nodes.len() as u64)).unwrap_or(0);
                    let mut node = net.nodes[victim].lock().await;
                    eprintln!(
                        "paymesh chaos: kill {} of {kills}: SIGKILL {}",
                        done + 1,
                        node.name
                    );
                    node.kill().await;
                    tokio::time::sleep(Duration::from_millis(200 + rng.below(800))).await;
                    if let Err(e) = node.start(&exe) {
                        eprintln!("paymesh chaos: {e}");
                    }
                    let _ = healthy(&client, &node).await;
                    done += 1;
                }
                // A ledger snapshot between faults: it must balance at every moment.
                let processing = net.nodes[0].lock().await;
                if let Ok(v) = operator(&client, &processing.url())
                    .call(reqwest::Method::GET, "/ledger/verify", None)
                    .await
                    && v["ok"] != true
                {
                    violations += 1;
                }
                if finished.load(Ordering::SeqCst) && done >= kills {
                    break;
                }
            }
            (done, violations)
        })
    };
    for worker in workers {
        worker
            .await
            .map_err(|e| format!("a terminal stopped: {e}"))?;
    }
    finished.store(true, Ordering::SeqCst);
    let (kills, snapshot_violations) = faults.await.map_err(|e| e.to_string())?;

    // The drain: every link up, every process running, until nothing is pending.
    for link in &net.provider_links {
        link.restore();
    }
    net.terminal_link.restore();
    let processing_url = net.nodes[0].lock().await.url();
    let started = Instant::now();
    loop {
        let pending = operator(&client, &processing_url)
            .call(reqwest::Method::GET, "/payments?status=pending", None)
            .await
            .map(|v| v.as_array().map_or(0, Vec::len))
            .unwrap_or(usize::MAX);
        if pending == 0 || started.elapsed() > DRAIN {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ledger_ok = operator(&client, &processing_url)
        .call(reqwest::Method::GET, "/ledger/verify", None)
        .await
        .map(|v| v["ok"] == true)
        .unwrap_or(false);
    for node in &net.nodes {
        let mut node = node.lock().await;
        if let Some(child) = node.child.as_ref().and_then(Child::id) {
            // SAFETY: kill(2) on our own child: SIGTERM lets it close its database.
            unsafe {
                libc::kill(child as libc::pid_t, libc::SIGTERM);
            }
        }
        if let Some(mut child) = node.child.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
    }
    let providers: Vec<(i64, &Path)> = net
        .providers
        .iter()
        .map(|(id, _, file)| (*id, file.as_path()))
        .collect();
    let told = told_completed.lock().await.clone();
    let mut findings = check::check(&net.processing_db, &providers, &told).await?;
    findings.conservation_violations += snapshot_violations + i64::from(!ledger_ok);
    println!(
        "{} payments: {} completed, {} failed, {} rejected; {kills} kills, {} s partitions",
        findings.payments, findings.completed, findings.failed, findings.rejected, args.partition_s
    );
    println!(
        "lost {}, doubled {}, orphan credits {}, pending after the drain {}, conservation violations {}",
        findings.lost,
        findings.doubled,
        findings.orphan_credits,
        findings.pending_after_drain,
        findings.conservation_violations
    );
    println!(
        "{}",
        json!({
            "payments": findings.payments, "completed": findings.completed, "failed": findings.failed,
            "rejected": findings.rejected, "lost": findings.lost, "doubled": findings.doubled,
            "orphan_credits": findings.orphan_credits, "pending_after_drain": findings.pending_after_drain,
            "conservation_violations": findings.conservation_violations, "kills": kills,
            "partition_s": args.partition_s,
        })
    );
    Ok(findings.clean())
}
