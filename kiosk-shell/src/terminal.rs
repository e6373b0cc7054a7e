//! The shell's money half, put together: the validator driver on its thread (on a serial
//! port, or on a PTY pair with the simulator on the other end), the journal, the bridge,
//! and the reporter that hands bills and the validator's state to the agent.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::Context;
use tokio::sync::watch;

use crate::bridge::{self, Hub};
use crate::bridge_guard::{self, BridgeGuard};
use crate::ccnet::bill_table::BillTable;
use crate::ccnet::driver::{Control, Driver, DriverConfig, Event};
use crate::ccnet::framelog::FrameLog;
use crate::ccnet::port;
use crate::ccnet::script::Action;
use crate::ccnet::sim;
use crate::journal::Journal;
use crate::reporter::{AgentLink, EnableGate, Reporter, TerminalCredential};

/// Where the bills come from.
#[derive(Debug, Clone)]
pub enum Validator {
    Serial(PathBuf),
    /// The built-in simulator, with a script played at start.
    Simulator {
        script: Vec<Action>,
    },
}

/// Everything [`start`] needs.
#[derive(Debug, Clone)]
pub struct TerminalConfig {
    pub validator: Validator,
    pub bridge_listen: SocketAddr,
    pub journal_dir: PathBuf,
    pub frame_log: Option<PathBuf>,
    /// The agent portal (origin allowed on the bridge, and where bills and the validator's
    /// state are reported). Without it the page's enable figure is taken as it is (driver
    /// tests and benches: there is no agent to credit anything).
    pub portal: Option<reqwest::Url>,
    /// The origin of the kiosk page when it is not the portal's: the `--chromium`
    /// credential proxy's (`http://127.0.0.1:PORT`). The bridge lets in this origin only.
    pub page_origin: Option<String>,
    pub login: Option<String>,
    pub password: Option<String>,
    /// What the client of the agent portal trusts: the system's roots plus `--ca-file`.
    pub trust: shared::outbound::Trust,
    /// The shell's own credential in the agent's terminal realm; without it (and with a
    /// portal) the validator is never enabled.
    pub terminal: Option<TerminalCredential>,
    pub driver: DriverConfig,
    /// The bridge listener's timeouts and connection cap ([`bridge::LIMITS`]).
    pub bridge_limits: shared::serve::ServeLimits,
}

/// A running driver and bridge.
pub struct Terminal {
    pub bridge_addr: SocketAddr,
    /// `ws://ADDR/ccnet?token=T`, for the page (also in `JOURNAL/bridge-url`). A secret:
    /// not for logs.
    pub bridge_url: String,
    pub hub: Arc<Hub>,
    controls: mpsc::Sender<Control>,
    driver: Option<JoinHandle<()>>,
    stop_bridge: watch::Sender<bool>,
    bridge: tokio::task::JoinHandle<()>,
}

/// Starts the driver thread, the simulator if asked, and the bridge.
pub async fn start(config: TerminalConfig) -> anyhow::Result<Terminal> {
    let journal = Journal::open(&config.journal_dir).with_context(|| {
        format!(
            "cannot open the bill journal in {}",
            config.journal_dir.display()
        )
    })?;
    let journal = Arc::new(Mutex::new(journal));
    let (controls, control_rx) = mpsc::channel();
    let (events, mut event_rx) = tokio::sync::mpsc::unbounded_channel::<Event>();

    let (opener, simulator): (crate::ccnet::driver::Opener, _) = match &config.validator {
        Validator::Serial(path) => {
            let path = path.clone();
            (Box::new(move || port::open(&path)), None)
        }
        Validator::Simulator { script } => {
            let (host, device) =
                port::pty_pair().context("cannot create a PTY pair for the simulator")?;
            let (actions, action_rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("ccnet-sim".into())
                .spawn(move || {
                    let mut unit = sim::Device::new(BillTable::russian());
                    if let Err(e) = sim::serve(device, &mut unit, &action_rx) {
                        tracing::info!(error = %e, "simulator stopped");
                    }
                })
                .context("cannot start the simulator thread")?;
            let script = script.clone();
            let player = actions.clone();
            std::thread::spawn(move || sim::play(script, &player));
            let mut host = Some(host);
            let opener: crate::ccnet::driver::Opener = Box::new(move || {
                host.take()
                    .ok_or_else(|| std::io::Error::other("the simulator's line is gone"))
            });
            (opener, Some(actions))
        }
    };
    let frame_log_path = config.frame_log.clone();
    let make_log = Box::new(move || {
        match &frame_log_path {
        Some(path) => FrameLog::to_file(path).unwrap_or_else(|e| {
            tracing::error!(path = %path.display(), error = %e, "cannot open the frame log; frames go to tracing only");
            FrameLog::tracing_only()
        }),
        None => FrameLog::tracing_only(),
    }
    });
    let driver = Driver::new(
        config.driver.clone(),
        opener,
        make_log,
        control_rx,
        Box::new(move |event| {
            let _ = events.send(event);
        }),
        Box::new(journal.clone()),
    );
    let driver = std::thread::Builder::new()
        .name("ccnet-driver".into())
        .spawn(move || driver.run())
        .context("cannot start the driver thread")?;

    let page_origin = config.page_origin.clone().or_else(|| {
        config
            .portal
            .as_ref()
            .map(|u| u.origin().ascii_serialization())
    });
    if page_origin.is_none() {
        tracing::warn!("no --portal: the bridge lets no page in");
    }
    let guard = BridgeGuard::new(page_origin).context("cannot make the bridge's token")?;
    let link = match (&config.portal, &config.terminal) {
        (Some(portal), Some(credential)) => Some(Arc::new(AgentLink::new(
            portal,
            credential.clone(),
            &config.trust,
        ))),
        (Some(_), None) => {
            tracing::error!(
                "no terminal credential (--terminal-login/--terminal-password): the validator stays disabled, since its bills could not be reported"
            );
            None
        }
        _ => None,
    };
    let reporter = link
        .clone()
        .map(|link| Reporter::spawn(link, journal.clone()));
    let gate = config
        .portal
        .is_some()
        .then(|| Arc::new(EnableGate::new(link, journal.clone())));
    let listener = tokio::net::TcpListener::bind(config.bridge_listen)
        .await
        .with_context(|| format!("cannot listen on {} for the bridge", config.bridge_listen))?;
    let bridge_addr = listener.local_addr()?;
    // Before the bridge answers anything: whoever waits for it finds the URL in place.
    let bridge_url = guard.url(bridge_addr);
    bridge_guard::write_url_file(&config.journal_dir, &bridge_url).with_context(|| {
        format!(
            "cannot write {}/{}",
            config.journal_dir.display(),
            bridge_guard::URL_FILE
        )
    })?;
    let hub = Hub::new(journal, controls.clone(), guard, simulator);
    if let Some(gate) = gate {
        hub.set_enable_gate(gate);
    }
    let (stop_bridge, mut stopped) = watch::channel(false);
    let bridge_hub = hub.clone();
    let bridge_limits = config.bridge_limits;
    let bridge = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = bridge::serve(listener, bridge_hub, bridge_limits, shutdown).await {
            tracing::error!(error = %e, "bridge stopped");
        }
    });

    let forward_hub = hub.clone();
    tokio::spawn(async move {
        while let Some(event) = event_rx.recv().await {
            if let Some(reporter) = &reporter {
                match &event {
                    Event::State { state, detail } => reporter.observe_state(*state, detail),
                    Event::Bill(_) => reporter.bill_stacked(),
                }
            }
            forward_hub.publish(event);
        }
    });
    tracing::info!(%bridge_addr, "kiosk bridge listening");
    Ok(Terminal {
        bridge_addr,
        bridge_url,
        hub,
        controls,
        driver: Some(driver),
        stop_bridge,
        bridge,
    })
}

impl Terminal {
    /// Sends a control to the driver (what the page does through the bridge).
    pub fn control(&self, control: Control) {
        let _ = self.controls.send(control);
    }

    /// Disables the validator, stops the driver and the bridge.
    pub async fn shutdown(mut self) {
        let _ = self.controls.send(Control::Shutdown);
        if let Some(driver) = self.driver.take() {
            let _ = tokio::task::spawn_blocking(move || driver.join()).await;
        }
        let _ = self.stop_bridge.send(true);
        let _ = (&mut self.bridge).await;
    }
}
