//! kiosk-shell: the payment terminal's body (wire.md "kiosk-shell").
//!
//! * no subcommand: the CCNET driver and the kiosk bridge on a tokio runtime, and the
//!   kiosk window on the main thread (GTK wants its event loop there);
//! * `--window-only`: any portal in an ordinary window, no CCNET;
//! * `ccnet-sim`: a CCNET bill validator on a pseudo-terminal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use kiosk_shell::ccnet::{bill_table::BillTable, port, script, sim};
use kiosk_shell::reporter::TerminalCredential;
use kiosk_shell::terminal::{self, TerminalConfig, Validator};
use kiosk_shell::window::{self, WindowSpec};

#[derive(Parser, Debug)]
#[command(
    name = "kiosk-shell",
    version,
    about = "Payment terminal: CCNET bill validator, kiosk bridge and window"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Tool>,
    #[command(flatten)]
    shell: ShellArgs,
}

#[derive(Args, Debug)]
struct ShellArgs {
    /// The agent portal's URL (its kiosk page), or any portal with --window-only.
    #[arg(long, env = "KIOSK_PORTAL")]
    portal: Option<String>,
    #[arg(long, env = "KIOSK_PORTAL_LOGIN")]
    portal_login: Option<String>,
    #[arg(long, env = "KIOSK_PORTAL_PASSWORD", hide_env_values = true)]
    portal_password: Option<String>,
    /// A PEM file of CA certificates trusted beside the system's roots when the portal is
    /// `https://` (a private network's own CA, e.g. the one `paymesh demo --tls` makes).
    #[arg(long, env = "KIOSK_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// The shell's own login in the agent's terminal realm, with which it reports stacked
    /// bills and the validator (the kiosk page's credential cannot add cash).
    #[arg(long, env = "KIOSK_TERMINAL_LOGIN", default_value = "terminal")]
    terminal_login: String,
    /// Its password (the agent's DIR/terminal-password); better given in the environment,
    /// which `ps` does not show. Without it the validator is never enabled.
    #[arg(long, env = "KIOSK_TERMINAL_PASSWORD", hide_env_values = true)]
    terminal_password: Option<String>,
    /// Serial port of the bill validator, e.g. /dev/ttyUSB0.
    #[arg(long, conflicts_with = "simulator")]
    serial: Option<PathBuf>,
    /// Use the built-in CCNET simulator instead of a device.
    #[arg(long)]
    simulator: bool,
    /// A script for the built-in simulator, played at start (see docs/kiosk.md).
    #[arg(long, requires = "simulator")]
    sim_script: Option<PathBuf>,
    /// Address of the local WebSocket bridge.
    #[arg(long, default_value = "127.0.0.1:8910")]
    bridge_listen: SocketAddr,
    /// Directory of the durable journal of stacked bills.
    #[arg(long, default_value = "kiosk-journal")]
    journal: PathBuf,
    /// Where the hex frame log goes (default: frames.log in the journal directory).
    #[arg(long)]
    frame_log: Option<PathBuf>,
    #[arg(long, conflicts_with_all = ["chromium", "window_only"])]
    no_window: bool,
    #[arg(long, conflicts_with = "window_only")]
    chromium: bool,
    /// With --chromium: a renderer that answers no probe for this many seconds is killed
    /// and the kiosk page loaded again.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    renderer_hang_s: u64,
    #[arg(long)]
    window_only: bool,
}

#[derive(Subcommand, Debug)]
enum Tool {
    /// A CCNET bill validator on a pseudo-terminal: reads script lines from --script and
    /// from standard input (`insert-rub 500`, `jam`, `cassette out` …).
    CcnetSim {
        /// The device end of the serial line (a socat PTY link, or a real port).
        #[arg(long)]
        link: PathBuf,
        /// A script to play at start.
        #[arg(long)]
        script: Option<PathBuf>,
        /// The bill table, `rub` or `TYPE=ROUBLES,…`.
        #[arg(long, default_value = "rub")]
        table: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    // Before any HTTP client is built: reqwest takes the process's rustls provider.
    shared::outbound::install_crypto_provider();
    let outcome = match cli.command {
        Some(Tool::CcnetSim {
            link,
            script,
            table,
        }) => run_simulator(link, script, &table),
        None if cli.shell.window_only => open_window_only(cli.shell),
        None => run_shell(cli.shell),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiosk-shell: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Values from the page and the validator reach log lines: escaped and bounded.
    let _ = tracing_subscriber::fmt()
        .fmt_fields(shared::telemetry::EscapedFields)
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn open_window_only(args: ShellArgs) -> anyhow::Result<()> {
    let url = args.portal.context("--window-only needs --portal URL")?;
    window::open_webview(&WindowSpec {
        url,
        login: args.portal_login,
        password: args.portal_password,
        kiosk: false,
        ca_file: args.ca_file,
    })
}

/// Driver + bridge on a runtime, the window (if any) on this thread.
fn run_shell(args: ShellArgs) -> anyhow::Result<()> {
    let validator = match (&args.serial, args.simulator) {
        (Some(path), _) => Validator::Serial(path.clone()),
        (None, true) => {
            let script = match &args.sim_script {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    script::parse(&text)?
                }
                None => Vec::new(),
            };
            Validator::Simulator { script }
        }
        (None, false) => {
            anyhow::bail!("say where the bill validator is: --serial PATH, or --simulator")
        }
    };
    let portal = match &args.portal {
        Some(p) => {
            Some(reqwest::Url::parse(p).with_context(|| format!("--portal {p} is not a URL"))?)
        }
        None if args.no_window => None,
        None => anyhow::bail!("--portal URL is needed to open the kiosk window"),
    };
    let trust = shared::outbound::Trust::load(args.ca_file.as_deref())?;
    let window = match &portal {
        Some(portal) if !args.no_window => Some(KioskWindow::prepare(&args, portal)?),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let config = TerminalConfig {
        validator,
        bridge_listen: args.bridge_listen,
        frame_log: Some(
            args.frame_log
                .clone()
                .unwrap_or_else(|| args.journal.join("frames.log")),
        ),
        journal_dir: args.journal.clone(),
        portal: portal.clone(),
        page_origin: window.as_ref().and_then(KioskWindow::page_origin),
        login: args.portal_login.clone(),
        password: args.portal_password.clone(),
        trust,
        terminal: args
            .terminal_password
            .clone()
            .map(|password| TerminalCredential {
                login: args.terminal_login.clone(),
                password,
            }),
        driver: Default::default(),
        bridge_limits: kiosk_shell::bridge::LIMITS,
    };
    let terminal = runtime.block_on(terminal::start(config))?;
    // The token stays off standard output (a service's goes to the system log).
    println!(
        "kiosk-shell: bridge on ws://{}/ccnet (its URL with the token: {})",
        terminal.bridge_addr,
        args.journal
            .join(kiosk_shell::bridge_guard::URL_FILE)
            .display()
    );
    let outcome = match (window, portal) {
        (Some(window), Some(portal)) => window.open(
            &kiosk_url(&portal, &terminal.bridge_url),
            &runtime,
            Duration::from_secs(args.renderer_hang_s),
        ),
        _ => {
            runtime.block_on(stop_signal());
            Ok(())
        }
    };
    runtime.block_on(terminal.shutdown());
    runtime.shutdown_timeout(Duration::from_secs(2));
    outcome
}

/// The kiosk window, readied before the bridge starts: with `--chromium` the credential
/// proxy is already listening, so the bridge knows the page's origin.
enum KioskWindow {
    Webview(WindowSpec),
    Chromium(window::chromium::Prepared),
}

impl KioskWindow {
    fn prepare(args: &ShellArgs, portal: &reqwest::Url) -> anyhow::Result<KioskWindow> {
        let spec = WindowSpec {
            url: portal.to_string(),
            login: args.portal_login.clone(),
            password: args.portal_password.clone(),
            kiosk: true,
            ca_file: args.ca_file.clone(),
        };
        Ok(if args.chromium {
            KioskWindow::Chromium(window::prepare_chromium(&spec)?)
        } else {
            KioskWindow::Webview(spec)
        })
    }

    /// The origin the page will have, when it is not the portal's.
    fn page_origin(&self) -> Option<String> {
        match self {
            KioskWindow::Webview(_) => None,
            KioskWindow::Chromium(chromium) => chromium.page_origin(),
        }
    }

    /// Opens `url` (the kiosk page with its bridge); returns when the window closes —
    /// Chromium's kiosk only when asked to stop (SIGTERM, Ctrl-C): it holds the screen,
    /// starting Chromium again whenever it exits.
    fn open(
        self,
        url: &str,
        runtime: &tokio::runtime::Runtime,
        hang_after: Duration,
    ) -> anyhow::Result<()> {
        match self {
            KioskWindow::Webview(spec) => window::open_webview(&WindowSpec {
                url: url.to_owned(),
                ..spec
            }),
            KioskWindow::Chromium(chromium) => {
                let options = window::chromium::KioskOptions {
                    hang_after,
                    ..Default::default()
                };
                let stop = options.stop.clone();
                runtime.spawn(async move {
                    stop_signal().await;
                    tracing::info!("kiosk: asked to stop; closing Chromium");
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                });
                chromium.run(url, &options)
            }
        }
    }
}

/// Ctrl-C, or SIGTERM from systemd or `paymesh demo`: either way the validator is
/// disabled before the process ends.
async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// The kiosk page with the bridge's address (and token): the page connects to it when
/// it is there.
fn kiosk_url(portal: &reqwest::Url, bridge: &str) -> String {
    let mut url = portal.clone();
    if url.path() == "/" || url.path().is_empty() {
        url.set_path("/kiosk");
    }
    url.query_pairs_mut().append_pair("bridge", bridge);
    url.to_string()
}

/// `ccnet-sim`: the device on a PTY, driven by a script and standard input. A lost line
/// (socat restarted) is re-opened, so the simulator outlives its host.
fn run_simulator(link: PathBuf, script_path: Option<PathBuf>, table: &str) -> anyhow::Result<()> {
    let table = match script::parse_line(&format!("table {table}")) {
        Ok(script::Action::Table(t)) => t,
        Ok(_) => BillTable::russian(),
        Err(e) => anyhow::bail!("--table: {e}"),
    };
    let start = match &script_path {
        Some(path) => script::parse(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )?,
        None => Vec::new(),
    };
    let (actions, action_rx) = std::sync::mpsc::channel();
    let player = actions.clone();
    std::thread::spawn(move || sim::play(start, &player));
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            match script::parse(&line) {
                Ok(parsed) => sim::play(parsed, &actions),
                Err(e) => eprintln!("ccnet-sim: {e}"),
            }
        }
    });
    let mut device = sim::Device::new(table);
    loop {
        match port::open(&link) {
            Ok(line) => {
                tracing::info!(link = %link.display(), "CCNET simulator on the line");
                if let Err(e) = sim::serve(line, &mut device, &action_rx) {
                    tracing::warn!(error = %e, "the line failed; re-opening");
                }
            }
            Err(e) => {
                tracing::warn!(link = %link.display(), error = %e, "cannot open the line; retrying");
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
