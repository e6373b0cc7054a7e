//! The network `paymesh chaos` runs on: two providers, processing (one process on SQLite,
//! or several on a PostgreSQL cluster of its own), and terminals — agents as processes of
//! this binary, each with its own SQLite outbox. Every participant is a [`Node`] the
//! faults can SIGKILL and start again; the links between them go through [`ChaosProxy`]s
//! the faults can cut.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use super::proxy::ChaosProxy;
use super::{PASSWORD, operator};
use crate::demo::postgres::{Cluster, Durability};

/// Terminals this network has.
pub const AGENTS: usize = 4;
/// The bill table the terminals' validators report (CashCode's RUB types 2–6).
pub const BILL_TABLE: [(i64, i64); 5] = [
    (2, 1_000),
    (3, 5_000),
    (4, 10_000),
    (5, 50_000),
    (6, 100_000),
];

/// The kind of a participant: the faults strike every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Processing,
    Provider,
    Agent,
}

/// One participant process: how to start it again after a kill.
pub struct Node {
    pub name: String,
    pub kind: Kind,
    args: Vec<String>,
    pub addr: SocketAddr,
    /// The running process; `None` between a kill and the restart.
    child: Mutex<Option<Child>>,
}

impl Kind {
    /// The `paymesh` command that runs this kind.
    fn command(self) -> &'static str {
        match self {
            Kind::Processing => "processing",
            Kind::Provider => "provider",
            Kind::Agent => "agent",
        }
    }
}

impl Node {
    /// Starts `paymesh KIND --listen (a free port) --data-dir DIR EXTRA…` and waits until
    /// it is healthy.
    async fn launch(
        exe: &Path,
        client: &reqwest::Client,
        name: String,
        kind: Kind,
        data_dir: &Path,
        extra: Vec<String>,
    ) -> Result<Node, String> {
        let addr = free_addr()?;
        let mut args: Vec<String> = vec![
            kind.command().into(),
            "--listen".into(),
            addr.to_string(),
            "--data-dir".into(),
            data_dir.display().to_string(),
        ];
        args.extend(extra);
        let node = Node {
            name,
            kind,
            args,
            addr,
            child: Mutex::new(None),
        };
        node.start(exe).await?;
        node.healthy(client).await?;
        Ok(node)
    }

    pub async fn start(&self, exe: &Path) -> Result<(), String> {
        let child = Command::new(exe)
            .args(&self.args)
            .env("PAYMESH_ADMIN_PASSWORD", PASSWORD)
            .env("PAYMESH_KIOSK_PASSWORD", PASSWORD)
            .env("PAYMESH_TERMINAL_PASSWORD", PASSWORD)
            .env("PAYMESH_LOG", "warn")
            // Each process is told its database on its command line, or uses its directory.
            .env_remove("PAYMESH_DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.name))?;
        *self.child.lock().await = Some(child);
        Ok(())
    }

    /// SIGKILL: no chance to finish a transaction, flush a buffer or answer a request.
    pub async fn kill(&self) {
        if let Some(mut child) = self.child.lock().await.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    /// SIGTERM and a wait, so that the databases are closed before they are read.
    pub async fn stop(&self) {
        if let Some(mut child) = self.child.lock().await.take() {
            crate::demo::stop_child(&mut child).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn healthy(&self, client: &reqwest::Client) -> Result<(), String> {
        if crate::demo::wait_healthy(&format!("{}/healthz", self.url()), client).await {
            Ok(())
        } else {
            Err(format!("{} did not come up", self.name))
        }
    }
}

fn free_addr() -> Result<SocketAddr, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))
}

/// A provider as processing knows it.
pub struct Provider {
    /// Its id at processing.
    pub id: i64,
    /// The subscriber account the payments go to.
    pub account: String,
    pub db_file: PathBuf,
}

/// A terminal as the checks and the customers know it.
pub struct Agent {
    /// Its id at processing.
    pub id: i64,
    pub url: String,
    pub db_file: PathBuf,
}

/// Where processing keeps its data.
pub enum ProcessingData {
    Sqlite(PathBuf),
    Postgres { url: String, cluster: Cluster },
}

/// What the network is made of, once its contracts are signed.
pub struct Network {
    /// Every participant process; the faults pick from it.
    pub nodes: Vec<Node>,
    /// processing → each provider.
    pub provider_links: Vec<ChaosProxy>,
    /// the terminals → processing (round its processes).
    pub terminal_link: ChaosProxy,
    pub providers: Vec<Provider>,
    pub agents: Vec<Agent>,
    pub processing: ProcessingData,
    /// processing's processes' base URLs, for the operator's calls.
    pub processing_urls: Vec<String>,
}

impl Network {
    /// An operator-API call to processing, on the first of its processes that answers.
    pub async fn processing_call(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
    ) -> Result<Value, String> {
        let mut last = String::from("no processing process");
        for base in &self.processing_urls {
            match operator(client, base)
                .call(method.clone(), path, None)
                .await
            {
                Ok(value) => return Ok(value),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Stops every process (SIGTERM); PostgreSQL stays up for the checks.
    pub async fn stop(&self) {
        for node in &self.nodes {
            node.stop().await;
        }
    }
}

/// How processing runs in this network.
pub struct Shape {
    pub processing: usize,
    pub postgres: bool,
}

async fn provider(
    exe: &Path,
    dir: &Path,
    client: &reqwest::Client,
    k: usize,
) -> Result<(Node, ChaosProxy, Value, String, String, PathBuf), String> {
    let data = dir.join(format!("provider-{k}"));
    let node = Node::launch(
        exe,
        client,
        format!("provider-{k}"),
        Kind::Provider,
        &data,
        vec!["--name".into(), format!("Chaos {k}")],
    )
    .await?;
    let addr = node.addr;
    let link = ChaosProxy::start(addr)
        .await
        .map_err(|e| format!("a proxy for provider-{k}: {e}"))?;
    let subscriber = operator(client, &node.url())
        .call(
            reqwest::Method::POST,
            "/subscribers",
            Some(json!({
                "full_name": (["Хаос Тест", "Сбой Проверка"][(k - 1) % 2]),
                "passport": "4510 123456", "email": "chaos@example.ru", "services": ["call"]
            })),
        )
        .await?;
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
    let account = subscriber["account"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((
        node,
        link,
        contract,
        endpoint,
        account,
        data.join("provider.db"),
    ))
}

/// processing's processes: on SQLite one, on PostgreSQL `shape.processing` sharing the
/// cluster's database.
async fn processing(
    exe: &Path,
    dir: &Path,
    client: &reqwest::Client,
    shape: &Shape,
) -> Result<(Vec<Node>, ProcessingData), String> {
    let data_dir = dir.join("processing");
    let data = if shape.postgres {
        let port = free_addr()?.port();
        let cluster = Cluster::start(&dir.join("postgres"), port, Durability::Durable)?;
        let url = cluster.database("processing").await?;
        ProcessingData::Postgres { url, cluster }
    } else {
        ProcessingData::Sqlite(data_dir.join("processing.db"))
    };
    let mut nodes = Vec::new();
    for k in 1..=shape.processing.max(1) {
        let mut extra: Vec<String> = vec![
            "--provider-timeout-ms".into(),
            "2000".into(),
            "--retry-delay-ms-max".into(),
            "500".into(),
        ];
        if let ProcessingData::Postgres { url, .. } = &data {
            extra.extend(["--database-url".into(), url.clone()]);
        }
        let name = if shape.processing > 1 {
            format!("processing-{k}")
        } else {
            "processing".into()
        };
        // Each process its own directory (its password file, its logs); the database is
        // shared.
        let own_dir = if shape.postgres {
            data_dir.join(format!("{k}"))
        } else {
            data_dir.clone()
        };
        let node = Node::launch(exe, client, name, Kind::Processing, &own_dir, extra).await?;
        nodes.push(node);
    }
    Ok((nodes, data))
}

/// A terminal: its account at processing (topped up), its process, its contract pointed
/// at the terminal link, its catalog synced and its validator's bill table reported.
async fn agent(
    exe: &Path,
    dir: &Path,
    client: &reqwest::Client,
    processing_url: &str,
    terminal_link: SocketAddr,
    k: usize,
) -> Result<(Node, Agent), String> {
    let at_processing = operator(client, processing_url)
        .call(
            reqwest::Method::POST,
            "/agents",
            Some(json!({"name": format!("Терминал {k}"), "fee": {"percent_bp": 100}})),
        )
        .await?;
    let id = at_processing["agent_id"].as_i64().unwrap_or(0);
    operator(client, processing_url)
        .call(
            reqwest::Method::POST,
            &format!("/agents/{id}/topups"),
            Some(json!({"amount": 50_000_000_000i64, "reference": format!("chaos-{k}")})),
        )
        .await?;
    let data = dir.join(format!("agent-{k}"));
    let node = Node::launch(
        exe,
        client,
        format!("agent-{k}"),
        Kind::Agent,
        &data,
        vec!["--name".into(), format!("Терминал {k}")],
    )
    .await?;
    let url = node.url();
    let own = operator(client, &url);
    own.call(
        reqwest::Method::PUT,
        "/contract",
        Some(json!({
            "processing_url": format!("http://{terminal_link}/api/agent/v1"),
            "contract_number": at_processing["contract_number"],
            "login": at_processing["login"], "password": at_processing["password"],
        })),
    )
    .await?;
    own.call(reqwest::Method::POST, "/sync", None).await?;
    let table: Vec<Value> = BILL_TABLE
        .iter()
        .map(|(bill_type, amount)| json!({"bill_type": bill_type, "amount": amount}))
        .collect();
    let answer = client
        .put(format!("{url}/api/terminal/v1/validator"))
        .basic_auth("terminal", Some(PASSWORD))
        .json(&json!({"state": "idle", "fault": null, "bill_table": table}))
        .send()
        .await
        .map_err(|e| format!("{}: {e}", node.name))?;
    if !answer.status().is_success() {
        return Err(format!(
            "{} refused the bill table: HTTP {}",
            node.name,
            answer.status()
        ));
    }
    Ok((
        node,
        Agent {
            id,
            url,
            db_file: data.join("agent.db"),
        },
    ))
}

pub async fn build(
    exe: &Path,
    dir: &Path,
    client: &reqwest::Client,
    shape: &Shape,
) -> Result<Network, String> {
    let mut nodes = Vec::new();
    let mut provider_links = Vec::new();
    let mut signed = Vec::new();
    for k in 1..=2 {
        let (node, link, contract, endpoint, account, db_file) =
            provider(exe, dir, client, k).await?;
        nodes.push(node);
        provider_links.push(link);
        signed.push((contract, endpoint, account, db_file));
    }
    let (processing_nodes, processing_data) = processing(exe, dir, client, shape).await?;
    let processing_urls: Vec<String> = processing_nodes.iter().map(Node::url).collect();
    let base = processing_urls[0].clone();
    let mut providers = Vec::new();
    for (contract, endpoint, account, db_file) in signed {
        let name = format!("chaos-{}", providers.len() + 1);
        let id = operator(client, &base)
            .register_provider(&name, "mobile", &endpoint, &contract)
            .await?;
        providers.push(Provider {
            id,
            account,
            db_file,
        });
    }
    let terminal_link = ChaosProxy::balancing(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        processing_nodes.iter().map(|n| n.addr).collect(),
    )
    .await
    .map_err(|e| format!("a proxy for processing: {e}"))?;
    let mut agents = Vec::new();
    for k in 1..=AGENTS {
        let (node, agent) = agent(exe, dir, client, &base, terminal_link.addr, k).await?;
        nodes.push(node);
        agents.push(agent);
    }
    let mut all = processing_nodes;
    all.extend(nodes);
    Ok(Network {
        nodes: all,
        provider_links,
        terminal_link,
        providers,
        agents,
        processing: processing_data,
        processing_urls,
    })
}
