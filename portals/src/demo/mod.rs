//! `paymesh demo`: a whole network as separate processes of this binary on fixed local
//! ports — processing, three providers (Megafon and Tele2 mobile, Er-Telecom internet), an
//! agent with a topped-up deposit, a consumer with a contract at each provider — its
//! contracts signed through the real APIs (`seed`), its data under one directory that the
//! next start reuses. Prints each portal's URL and credentials; Ctrl-C stops every process
//! and exits 0.
//!
//! Beside the agent runs kiosk-shell with the simulated CashCode validator (`kiosk`):
//! its kiosk window where a display exists, headless otherwise; either way its bridge
//! serves a browser that opens the kiosk page (on the agent's own origin) with the
//! `?bridge=…` URL the demo prints — the bridge's token is in it — and the page's
//! simulator buttons put banknotes through the real CCNET driver; kiosk-shell reports each
//! stacked bill to the agent with the terminal credential (`DIR/agent/terminal-password`,
//! handed over in its environment, never on its command line). The agent also runs
//! `--kiosk-dev`, so the kiosk page opened without the bridge says how to get banknotes.
//!
//! `--processing N` runs N processing processes on one database (`processing-1`…, ports
//! 8413, 8423…) behind HAProxy on processing's port, with one operator password;
//! `--postgres` keeps processing's data in a PostgreSQL cluster of the demo's own under
//! `DIR/postgres` (started and stopped with the demo), SQLite's file otherwise.
//!
//! `--tls` runs the same network over HTTPS: `pki` makes a CA and a certificate per
//! participant under the data directory (once; the next start reuses them), every
//! participant serves HTTPS with its own, and every client — the participants' outbound
//! clients, the seeding, kiosk-shell — trusts that CA through `--ca-file`.
//!
//! Nothing outlives the demo: every process it starts gets SIGTERM (PostgreSQL SIGINT)
//! from the kernel when the demo ends, even by SIGKILL (`server::children`), and a demo
//! that finds one of its ports taken says which before it starts anything (`ports`).

pub mod haproxy;
pub mod pki;
pub mod ports;
pub mod postgres;
pub mod seed;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::cli::DemoArgs;
use crate::role::Role;
use crate::server::children::{DieWithParent, ParentDeathSignal};
use crate::server::{ADMIN_PASSWORD_FILE, listen_for_shutdown};

/// The kiosk bridge's port (kiosk-shell's default).
pub const BRIDGE_PORT: u16 = 8910;

/// How long one participant may take to answer `/healthz` after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

struct Participant {
    key: &'static str,
    port: u16,
    dir: PathBuf,
    child: Child,
}

/// The processing processes of `--processing N`, behind HAProxy: (key, port).
const PROCESSING_PROCESSES: [(&str, u16); 4] = [
    ("processing-1", 8413),
    ("processing-2", 8423),
    ("processing-3", 8433),
    ("processing-4", 8443),
];
/// The demo's PostgreSQL cluster (`--postgres`), on loopback.
const POSTGRES_PORT: u16 = 8430;

/// Where processing keeps its data, and how many processes serve it.
struct ProcessingLayout {
    processes: usize,
    /// `--database-url` for every processing process; `None`: its own data directory.
    database_url: Option<String>,
}

/// (data directory key, role, port, extra flags) of every demo participant.
fn lineup(processing: &ProcessingLayout) -> Vec<(&'static str, Role, u16, Vec<String>)> {
    let url_flags: Vec<String> = processing
        .database_url
        .iter()
        .flat_map(|url| ["--database-url".to_owned(), url.clone()])
        .collect();
    let mut lineup = if processing.processes > 1 {
        PROCESSING_PROCESSES[..processing.processes]
            .iter()
            .map(|(key, port)| (*key, Role::Processing, *port, url_flags.clone()))
            .collect()
    } else {
        vec![(
            "processing",
            Role::Processing,
            seed::PROCESSING_PORT,
            url_flags,
        )]
    };
    lineup.extend([
        (
            "agent",
            Role::Agent,
            seed::AGENT_PORT,
            vec![
                "--kiosk-dev".into(),
                "--name".into(),
                "Демо-терминал".into(),
                // What the receipt names (made up, with a well-formed INN).
                "--legal-name".into(),
                "ООО «Демо Платежи»".into(),
                "--inn".into(),
                "7701000019".into(),
                "--address".into(),
                "г. Москва, Демонстрационный пр., д. 1".into(),
                "--terminal-id".into(),
                "T-000101".into(),
                "--support-phone".into(),
                "+7 800 555-01-19".into(),
            ],
        ),
        ("consumer", Role::Consumer, seed::CONSUMER_PORT, vec![]),
    ]);
    for p in seed::PROVIDERS {
        lineup.push((
            p.key,
            Role::Provider,
            p.port,
            vec![
                "--name".into(),
                p.name.into(),
                "--kind".into(),
                p.kind.into(),
            ],
        ));
    }
    lineup
}

/// Polls `url` until it answers 2xx (true) or the start timeout passes (false).
pub(crate) async fn wait_healthy(url: &str, client: &reqwest::Client) -> bool {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

fn read_secret(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "(unknown)".into())
}

async fn stop_all(participants: &mut [Participant]) {
    for p in participants.iter() {
        terminate(&p.child);
    }
    for p in participants.iter_mut() {
        reap(&mut p.child).await;
    }
}

/// SIGTERM lets a process finish its requests, close its database, disable its validator.
fn terminate(child: &Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) with a pid we spawned and still own; no memory is involved.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
}

async fn reap(child: &mut Child) {
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// SIGTERM, then up to 10 s for the process to finish (SIGKILL after that).
pub(crate) async fn stop_child(child: &mut Child) {
    terminate(child);
    reap(child).await;
}

/// kiosk-shell, running beside the network.
struct KioskShell {
    child: Child,
    /// "a kiosk window on :0", "headless" — for the printout.
    how: String,
    /// The bridge's URL with this start's token (kiosk-shell writes it to its journal).
    bridge_url: String,
    /// The bridge lets in pages of the agent's origin (not only the `--chromium`
    /// window's, whose pages come from its credential proxy).
    browser_may_connect: bool,
}

/// Starts kiosk-shell (next to this executable) with the simulated validator on the
/// agent's kiosk page, and waits for its bridge.
async fn start_kiosk_shell(
    exe: &Path,
    args: &DemoArgs,
    web: &seed::Web,
    ca_file: Option<&Path>,
) -> Result<KioskShell, String> {
    let binary = exe.with_file_name("kiosk-shell");
    if !binary.exists() {
        return Err(format!("{} is not built", binary.display()));
    }
    let display = std::env::var("DISPLAY")
        .ok()
        .or_else(|| std::env::var("WAYLAND_DISPLAY").ok())
        .filter(|d| !d.is_empty());
    let (mode, how) = match (&display, args.no_window, args.chromium) {
        (Some(d), false, true) => (Some("--chromium"), format!("Chromium kiosk window on {d}")),
        (Some(d), false, false) => (None, format!("kiosk window on {d}")),
        _ => (Some("--no-window"), "headless: no window".to_owned()),
    };
    let dir = args.data_dir.join("kiosk-shell");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let log = std::fs::File::create(dir.join("kiosk-shell.log"))
        .map_err(|e| format!("{}/kiosk-shell.log: {e}", dir.display()))?;
    let mut command = Command::new(&binary);
    command
        .arg("--portal")
        .arg(format!("{}/", web.base(seed::AGENT_PORT)))
        .args(["--portal-login", "kiosk", "--simulator"])
        .args(["--terminal-login", "terminal"])
        .arg("--bridge-listen")
        .arg(format!("127.0.0.1:{BRIDGE_PORT}"))
        .arg("--journal")
        .arg(&dir)
        .args(mode)
        .args(
            ca_file
                .map(|f| ["--ca-file".as_ref(), f.as_os_str()])
                .into_iter()
                .flatten(),
        )
        .env_remove("KIOSK_CA_FILE")
        .env(
            "KIOSK_PORTAL_PASSWORD",
            read_secret(&args.data_dir.join("agent"), "kiosk-password"),
        )
        // Secrets go through the environment: `ps` shows argv to every user.
        .env(
            "KIOSK_TERMINAL_PASSWORD",
            read_secret(&args.data_dir.join("agent"), "terminal-password"),
        )
        .env(
            "KIOSK_LOG",
            std::env::var("KIOSK_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        // SIGTERM disables the validator before kiosk-shell ends; its window goes with it.
        .die_with_parent(ParentDeathSignal::Terminate);
    let child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let mut shell = KioskShell {
        child,
        how,
        bridge_url: String::new(),
        browser_may_connect: mode != Some("--chromium"),
    };
    // The bridge is plain HTTP on loopback (the page reaches it as ws://127.0.0.1).
    let bridge = format!("http://127.0.0.1:{BRIDGE_PORT}/healthz");
    if !wait_healthy(&bridge, &web.client).await {
        stop_child(&mut shell.child).await;
        return Err(format!(
            "its bridge did not come up on port {BRIDGE_PORT}; see {}/kiosk-shell.log",
            dir.display()
        ));
    }
    // Written before the bridge answers.
    shell.bridge_url = read_secret(&dir, "bridge-url");
    Ok(shell)
}

/// Resolves when kiosk-shell exits; never, when there is none.
async fn shell_exit(shell: &mut Option<KioskShell>) -> String {
    match shell {
        Some(shell) => shell
            .child
            .wait()
            .await
            .map(|s| s.to_string())
            .unwrap_or_else(|e| e.to_string()),
        None => std::future::pending().await,
    }
}

pub async fn run(args: DemoArgs) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("paymesh demo: cannot find my own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = ports::check_free(&demo_ports(&args)) {
        eprintln!("paymesh demo: {e}");
        return ExitCode::FAILURE;
    }
    let mut cluster = None;
    let layout = match processing_layout(&args, &mut cluster).await {
        Ok(layout) => layout,
        Err(e) => {
            eprintln!("paymesh demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    // One operator password for every processing process: HAProxy sends the operator's
    // requests to any of them.
    let shared_admin_password = if layout.processes > 1 {
        match shared_processing_password(&args.data_dir) {
            Ok(password) => Some(password),
            Err(e) => {
                eprintln!("paymesh demo: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let lineup = lineup(&layout);
    let (ca_file, server_files) = if args.tls {
        let keys: Vec<&str> = lineup.iter().map(|(key, ..)| *key).collect();
        match pki::prepare(&args.data_dir, &keys) {
            Ok((pki, files)) => (Some(pki.ca_file), Some(files)),
            Err(e) => {
                eprintln!("paymesh demo: cannot make the demo's certificates: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        (None, None)
    };
    let web = match demo_web(ca_file.as_deref()) {
        Ok(web) => web,
        Err(e) => {
            eprintln!("paymesh demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut participants = Vec::new();
    for (i, (key, role, port, extra)) in lineup.into_iter().enumerate() {
        let dir = args.data_dir.join(key);
        let mut tls_args: Vec<std::ffi::OsString> = Vec::new();
        if let (Some(ca_file), Some(files)) = (&ca_file, &server_files) {
            let files = &files[i];
            for (flag, path) in [
                ("--tls-cert", &files.cert),
                ("--tls-key", &files.key),
                ("--ca-file", ca_file),
            ] {
                tls_args.push(flag.into());
                tls_args.push(path.into());
            }
        }
        let mut command = Command::new(&exe);
        if let (Role::Processing, Some(password)) = (role, &shared_admin_password) {
            command.env("PAYMESH_ADMIN_PASSWORD", password);
        } else {
            command.env_remove("PAYMESH_ADMIN_PASSWORD");
        }
        let child = command
            .arg(role.as_str())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(&dir)
            .args(&extra)
            .args(&tls_args)
            .env_remove("PAYMESH_TLS_CERT")
            .env_remove("PAYMESH_TLS_KEY")
            .env_remove("PAYMESH_CA_FILE")
            .env_remove("PAYMESH_LISTEN")
            .env_remove("PAYMESH_CONFIG")
            .env_remove("PAYMESH_DATA_DIR")
            // Each participant logs in full to DIR/logs; the terminal shows only warnings.
            .env(
                "PAYMESH_LOG",
                std::env::var("PAYMESH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            // `run` is polled by main's block_on, on the main thread (server::children).
            .die_with_parent(ParentDeathSignal::Terminate)
            .spawn();
        match child {
            Ok(child) => participants.push(Participant {
                key,
                port,
                dir,
                child,
            }),
            Err(e) => {
                eprintln!("paymesh demo: cannot start {key}: {e}");
                stop_all(&mut participants).await;
                return ExitCode::FAILURE;
            }
        }
    }
    if layout.processes > 1 {
        match start_haproxy(&args.data_dir, layout.processes) {
            Ok(proxy) => participants.push(proxy),
            Err(e) => {
                eprintln!("paymesh demo: {e}");
                stop_all(&mut participants).await;
                return ExitCode::FAILURE;
            }
        }
    }
    for p in &participants {
        if !wait_healthy(&format!("{}/healthz", web.base(p.port)), &web.client).await {
            eprintln!(
                "paymesh demo: {} did not come up on port {}; see {}/logs",
                p.key,
                p.port,
                p.dir.display()
            );
            stop_all(&mut participants).await;
            return ExitCode::FAILURE;
        }
    }
    let seeded = match seed::seed(&args.data_dir, &web).await {
        Ok(seeded) => seeded,
        Err(e) => {
            eprintln!("paymesh demo: signing the demo contracts failed: {e}");
            stop_all(&mut participants).await;
            return ExitCode::FAILURE;
        }
    };
    // After the seeding: the kiosk window opens on a terminal that is ready to serve.
    let mut shell = match start_kiosk_shell(&exe, &args, &web, ca_file.as_deref()).await {
        Ok(shell) => Some(shell),
        Err(e) => {
            eprintln!("paymesh demo: no kiosk-shell ({e}); the kiosk takes no cash without it");
            None
        }
    };
    // From here on Ctrl-C and SIGTERM stop the network in order (before, they end the
    // demo at once, and its children with it).
    let shutdown = listen_for_shutdown();
    tokio::pin!(shutdown);
    println!();
    println!(
        "paymesh demo is up (data in {}; the next start reuses it). Portals, login admin:",
        args.data_dir.display()
    );
    for p in &participants {
        let password = match (&shared_admin_password, p.key) {
            (Some(password), "haproxy") => password.clone(),
            (Some(_), key) if key.starts_with("processing-") => continue,
            _ => read_secret(&p.dir, ADMIN_PASSWORD_FILE),
        };
        let key = if p.key == "haproxy" {
            "processing"
        } else {
            p.key
        };
        println!("  {key:<11} {}/   password {password}", web.base(p.port));
    }
    if layout.processes > 1 {
        let behind: Vec<String> = PROCESSING_PROCESSES[..layout.processes]
            .iter()
            .map(|(key, port)| format!("{key} :{port}"))
            .collect();
        println!(
            "  processing is HAProxy on :{} in front of {} (config {}/haproxy/haproxy.cfg)",
            seed::PROCESSING_PORT,
            behind.join(", "),
            args.data_dir.display()
        );
    }
    if let Some(cluster) = &cluster {
        println!(
            "  PostgreSQL: {}/processing (cluster in {}/postgres)",
            cluster.server_url(),
            args.data_dir.display()
        );
    }
    let kiosk_password = read_secret(&args.data_dir.join("agent"), "kiosk-password");
    match &shell {
        Some(shell) => {
            println!(
                "Kiosk: kiosk-shell with a simulated CashCode validator ({}).",
                shell.how
            );
            if shell.browser_may_connect {
                println!(
                    "  In a browser: {}   login kiosk   password {kiosk_password}",
                    kiosk_page_url(&web, &shell.bridge_url)
                );
            } else {
                println!(
                    "  The bridge serves only the Chromium window's page; in another browser: {}/kiosk   login kiosk   password {kiosk_password}",
                    web.base(seed::AGENT_PORT)
                );
            }
            let token = shell
                .bridge_url
                .split_once("?token=")
                .map_or("", |(_, t)| t);
            println!(
                "  banknotes: the simulator's buttons on the cash screen, or curl -d 'insert-rub 500' 'http://127.0.0.1:{BRIDGE_PORT}/sim?token={token}'"
            );
        }
        None => println!(
            "Kiosk: {}/kiosk   login kiosk   password {kiosk_password}   (no cash: kiosk-shell is not running)",
            web.base(seed::AGENT_PORT)
        ),
    }
    if let Some(ca_file) = &ca_file {
        println!(
            "TLS: every portal serves HTTPS with a certificate of the demo's CA, {}; import it into a browser (or curl --cacert) to trust the portals.",
            ca_file.display()
        );
    }
    println!("Subscriber accounts (their contracts are in the consumer app):");
    for (provider, account, _, _) in &seeded.subscribers {
        println!("  {provider:<11} {account}");
    }
    println!(
        "Logs: {}/<participant>/logs. Press Ctrl-C to stop.",
        args.data_dir.display()
    );

    let exited = loop {
        tokio::select! {
            () = &mut shutdown => break None,
            (key, status) = first_exit(&mut participants) => break Some((key, status)),
            status = shell_exit(&mut shell) => {
                // Closing the kiosk window is not a reason to stop the network.
                println!("paymesh demo: kiosk-shell stopped ({status}); the network keeps running");
                shell = None;
            }
        }
    };
    if let Some(shell) = shell.as_mut() {
        stop_child(&mut shell.child).await;
    }
    stop_all(&mut participants).await;
    match exited {
        None => {
            println!("paymesh demo: stopped");
            ExitCode::SUCCESS
        }
        Some((key, status)) => {
            eprintln!("paymesh demo: {key} exited on its own ({status}); stopped the others");
            ExitCode::FAILURE
        }
    }
}

/// How many processing processes `--processing N` asks for (1 to 4).
fn processing_processes(args: &DemoArgs) -> usize {
    usize::from(args.processing.clamp(1, 4))
}

/// Every port this start of the demo will listen on. The PostgreSQL port is left out when
/// the demo's own cluster directory has a server's pid file: that is a server left over
/// from a demo killed outright, which [`postgres::Cluster::start`] stops (a demo still
/// running would hold the other ports too, and be reported by them).
fn demo_ports(args: &DemoArgs) -> Vec<ports::DemoPort> {
    let processes = processing_processes(args);
    let layout = ProcessingLayout {
        processes,
        database_url: None,
    };
    let mut ports: Vec<ports::DemoPort> = lineup(&layout)
        .into_iter()
        .map(|(key, _, port, _)| ports::DemoPort::new(port, key))
        .collect();
    if processes > 1 {
        ports.push(ports::DemoPort::new(
            seed::PROCESSING_PORT,
            "processing's HAProxy",
        ));
    }
    ports.push(ports::DemoPort::new(BRIDGE_PORT, "kiosk-shell's bridge"));
    let leftover_server = args
        .data_dir
        .join("postgres")
        .join("data")
        .join("postmaster.pid")
        .exists();
    if args.postgres && !leftover_server {
        ports.push(ports::DemoPort::new(POSTGRES_PORT, "the demo's PostgreSQL"));
    }
    ports
}

/// Where processing's data lives for this start: the demo's PostgreSQL cluster (started
/// here, kept in `cluster` until the demo ends), the first process's SQLite file shared
/// by all, or — one process on SQLite — its own data directory.
async fn processing_layout(
    args: &DemoArgs,
    cluster: &mut Option<postgres::Cluster>,
) -> Result<ProcessingLayout, String> {
    let processes = processing_processes(args);
    if processes > 1 && args.tls {
        return Err(
            "--processing with --tls is not supported yet: HAProxy here speaks plain HTTP to \
             the processes"
                .into(),
        );
    }
    if processes > 1 && haproxy::binary().is_none() {
        return Err(format!(
            "--processing {processes} puts HAProxy in front of the processes, and HAProxy \
             is not installed: apt-get install haproxy"
        ));
    }
    let database_url = if args.postgres {
        let started = postgres::Cluster::start(
            &args.data_dir.join("postgres"),
            POSTGRES_PORT,
            postgres::Durability::Durable,
        )?;
        let url = started.database("processing").await?;
        *cluster = Some(started);
        Some(url)
    } else if processes > 1 {
        let dir = args.data_dir.join("processing");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Some(format!("sqlite:{}", dir.join("processing.db").display()))
    } else {
        None
    };
    Ok(ProcessingLayout {
        processes,
        database_url,
    })
}

/// The operator password every processing process is started with: generated once into
/// `DIR/processing/admin-password`, as a single process would.
fn shared_processing_password(data_dir: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = data_dir.join("processing");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    crate::server::data_dir::password(&dir, ADMIN_PASSWORD_FILE, None)
        .map(|(password, _)| password)
        .map_err(|e| e.to_string())
}

/// HAProxy in front of the processing processes, on processing's port.
fn start_haproxy(data_dir: &Path, processes: usize) -> Result<Participant, String> {
    let dir = data_dir.join("haproxy");
    let servers: Vec<(String, std::net::SocketAddr)> = PROCESSING_PROCESSES[..processes]
        .iter()
        .map(|(key, port)| ((*key).to_owned(), ([127, 0, 0, 1], *port).into()))
        .collect();
    let listen = ([127, 0, 0, 1], seed::PROCESSING_PORT).into();
    let child = haproxy::start(&dir, listen, &servers)?;
    Ok(Participant {
        key: "haproxy",
        port: seed::PROCESSING_PORT,
        dir,
        child,
    })
}

/// The seeding's and health checks' client: it trusts the demo's CA when there is one.
fn demo_web(ca_file: Option<&Path>) -> Result<seed::Web, String> {
    let trust = shared::outbound::Trust::load(ca_file).map_err(|e| e.to_string())?;
    let client = trust
        .client(Duration::from_secs(30))
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    Ok(seed::Web {
        https: ca_file.is_some(),
        client,
    })
}

/// The agent's kiosk page with the bridge's URL (and token) in its `bridge` parameter.
fn kiosk_page_url(web: &seed::Web, bridge_url: &str) -> String {
    let page = format!("{}/kiosk", web.base(seed::AGENT_PORT));
    match reqwest::Url::parse(&page) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("bridge", bridge_url);
            url.to_string()
        }
        Err(_) => page,
    }
}

/// Resolves when any participant exits.
async fn first_exit(participants: &mut [Participant]) -> (&'static str, String) {
    let waits = participants.iter_mut().map(|p| {
        let key = p.key;
        Box::pin(async move {
            let status = p
                .child
                .wait()
                .await
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string());
            (key, status)
        })
    });
    futures::future::select_all(waits).await.0
}
