//! The bench every CCNET test runs on: a socat PTY pair; on one end a simulated unit
//! (the real `sim::Device`) whose line is recorded frame by frame and can be made to
//! misbehave; on the other the real driver, journal and bridge; and a WebSocket client in
//! the place of the kiosk page.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use kiosk_shell::ccnet::bill_table::BillTable;
use kiosk_shell::ccnet::codes::{ACK, NAK};
use kiosk_shell::ccnet::driver::DriverConfig;
use kiosk_shell::ccnet::port;
use kiosk_shell::ccnet::script::{self, Action};
use kiosk_shell::ccnet::sim::Device;
use kiosk_shell::ccnet::stream::{FrameReader, Item};
use kiosk_shell::terminal::{self, Terminal, TerminalConfig, Validator};
use serde_json::{Value, json};
use shared::serve::ServeLimits;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The kiosk page's origin as the rig's bridge knows it (the portal's, in real life).
pub const PAGE_ORIGIN: &str = "http://127.0.0.1:8404";

/// Who wrote a frame on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    Host,
    Device,
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub from: From,
    pub payload: Vec<u8>,
    pub at: Instant,
}

/// Ways to make the unit misbehave, beyond what the script language offers.
#[derive(Debug, Default)]
pub struct Hooks {
    /// Answer NAK to this many host commands.
    pub nak_commands: u32,
    /// Ignore this many host ACKs that follow a Bill Stacked reply (the unit repeats 81).
    pub lose_acks_after_stacked: u32,
    /// Answer ILLEGAL COMMAND to this many STACKs.
    pub illegal_stacks: u32,
    /// Acknowledge STACK without acting on it (the bill never reaches the cassette).
    pub swallow_stack: bool,
    /// Put a frame from another bus address (a coin changer's) before this many replies.
    pub foreign_frames: u32,
    /// Set when the host's ACK of a Bill Stacked reply arrives: was the bill already in
    /// the journal file?
    pub journaled_before_ack: Vec<bool>,
}

pub struct Socat {
    child: Child,
}

impl Socat {
    pub fn start(dir: &Path) -> Socat {
        let child = Command::new("socat")
            .arg("-d")
            .arg(format!(
                "pty,raw,echo=0,link={}",
                dir.join("host").display()
            ))
            .arg(format!(
                "pty,raw,echo=0,link={}",
                dir.join("device").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat (apt install socat)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(dir.join("host").exists() && dir.join("device").exists()) {
            assert!(Instant::now() < deadline, "socat made no PTY pair");
            std::thread::sleep(Duration::from_millis(20));
        }
        Socat { child }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub socat: Socat,
    pub device: Arc<Mutex<Device>>,
    pub hooks: Arc<Mutex<Hooks>>,
    pub line: Arc<Mutex<Vec<Frame>>>,
    stop: Arc<AtomicBool>,
    pub terminal: Option<Terminal>,
    pub config: DriverConfig,
    /// The bridge listener's limits (kiosk-shell's own unless a test shortens them).
    pub bridge_limits: ServeLimits,
}

/// Quicker than the spec's timeouts where a test waits for them; polling stays at the
/// spec's recommended 200 ms.
pub fn test_config() -> DriverConfig {
    DriverConfig {
        offline_after: Duration::from_secs(2),
        reset_every: Duration::from_secs(1),
        hold_at_most: Duration::from_millis(1500),
        stack_timeout: Duration::from_secs(2),
        reopen_every: Duration::from_millis(300),
        ..DriverConfig::default()
    }
}

impl Rig {
    pub async fn start() -> Rig {
        Rig::start_with(BillTable::russian(), test_config()).await
    }

    pub async fn start_with(table: BillTable, config: DriverConfig) -> Rig {
        let mut rig = Rig::unstarted(table, config);
        rig.start_terminal().await;
        rig
    }

    /// The line and the unit, but no shell yet: a test may set up the unit's state and
    /// the journal first, then call [`Rig::start_terminal`].
    pub fn unstarted(table: BillTable, config: DriverConfig) -> Rig {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let socat = Socat::start(dir.path());
        let device = Arc::new(Mutex::new(Device::new(table)));
        let hooks = Arc::new(Mutex::new(Hooks::default()));
        let line = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (path, device, hooks, line, stop) = (
                dir.path().join("device"),
                device.clone(),
                hooks.clone(),
                line.clone(),
                stop.clone(),
            );
            let journal = dir.path().join("journal").join("bills.jsonl");
            std::thread::spawn(move || unit_loop(&path, &journal, device, hooks, line, stop));
        }
        Rig {
            dir,
            socat,
            device,
            hooks,
            line,
            stop,
            terminal: None,
            config,
            bridge_limits: kiosk_shell::bridge::LIMITS,
        }
    }

    pub async fn start_terminal(&mut self) {
        let config = TerminalConfig {
            validator: Validator::Serial(self.dir.path().join("host")),
            bridge_listen: "127.0.0.1:0".parse().unwrap(),
            journal_dir: self.dir.path().join("journal"),
            frame_log: Some(self.dir.path().join("frames.log")),
            portal: None,
            page_origin: Some(PAGE_ORIGIN.into()),
            login: None,
            password: None,
            trust: Default::default(),
            terminal: None,
            driver: self.config.clone(),
            bridge_limits: self.bridge_limits,
        };
        self.terminal = Some(terminal::start(config).await.unwrap());
    }

    pub async fn stop_terminal(&mut self) {
        if let Some(t) = self.terminal.take() {
            t.shutdown().await;
        }
    }

    /// The bridge's URL with its token, as the shell hands it to the page.
    pub fn bridge_url(&self) -> String {
        self.terminal.as_ref().unwrap().bridge_url.clone()
    }

    pub async fn page(&self) -> Page {
        Page::connect(&self.bridge_url(), Some(PAGE_ORIGIN))
            .await
            .expect("the page is let in")
    }

    /// A page that has enabled the unit for `rubles` and seen it ready.
    pub async fn enabled_page(&self, rubles: i64) -> Page {
        let mut page = self.page().await;
        page.enable(rubles).await;
        page.state("idle", "ready").await;
        page
    }

    /// The last frame the host sent with this command byte.
    pub fn last_host(&self, command: u8) -> Option<Vec<u8>> {
        self.frames()
            .into_iter()
            .rev()
            .find(|f| f.from == From::Host && f.payload[0] == command)
            .map(|f| f.payload)
    }

    /// How many frames `from` sent with exactly this payload.
    pub fn count(&self, from: From, payload: &[u8]) -> usize {
        self.frames()
            .iter()
            .filter(|f| f.from == from && f.payload == payload)
            .count()
    }

    /// Plays script lines on the unit.
    pub fn act(&self, script_text: &str) {
        for action in script::parse(script_text).unwrap() {
            if let Action::Wait(d) = action {
                std::thread::sleep(d);
            } else {
                self.device.lock().unwrap().act(&action);
            }
        }
    }

    pub fn hooks(&self) -> std::sync::MutexGuard<'_, Hooks> {
        self.hooks.lock().unwrap()
    }

    /// Every frame on the line so far.
    pub fn frames(&self) -> Vec<Frame> {
        self.line.lock().unwrap().clone()
    }

    /// The host's commands (first payload byte), in order, ACK/NAK left out.
    pub fn host_commands(&self) -> Vec<u8> {
        self.frames()
            .iter()
            .filter(|f| f.from == From::Host && f.payload[0] != ACK && f.payload[0] != NAK)
            .map(|f| f.payload[0])
            .collect()
    }

    pub fn count_host(&self, command: u8) -> usize {
        self.host_commands()
            .iter()
            .filter(|&&c| c == command)
            .count()
    }

    pub fn frame_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("frames.log")).unwrap_or_default()
    }

    /// The bills in the journal (its STACK lines left out).
    pub fn journaled_bills(&self) -> Vec<Value> {
        self.journal_lines("bills.jsonl")
            .into_iter()
            .filter(|l| l.get("event_id").is_some())
            .collect()
    }

    pub fn journal_lines(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("journal").join(file))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until `check` holds on the recorded line.
    pub async fn until_line(&self, what: &str, check: impl Fn(&[Frame]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if check(&self.frames()) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The unit's side of the line: the real simulated device, recorded, with hooks.
fn unit_loop(
    path: &Path,
    journal: &Path,
    device: Arc<Mutex<Device>>,
    hooks: Arc<Mutex<Hooks>>,
    line: Arc<Mutex<Vec<Frame>>>,
    stop: Arc<AtomicBool>,
) {
    let mut last_reply_was_stacked = false;
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut port) = port::open(path) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let mut reader = FrameReader::new();
        let mut chunk = [0u8; 256];
        'line: while !stop.load(Ordering::SeqCst) {
            match port.read(&mut chunk) {
                Ok(0) => break 'line,
                Ok(n) => reader.push(&chunk[..n]),
                Err(e) if port::is_timeout(&e) => continue,
                Err(_) => break 'line,
            }
            while let Some(item) = reader.next_item() {
                let payload = match item {
                    Item::Frame(f, _) => f.payload,
                    Item::BadCrc(_) => vec![0xEE],
                    Item::Garbage(_) => continue,
                };
                line.lock().unwrap().push(Frame {
                    from: From::Host,
                    payload: payload.clone(),
                    at: Instant::now(),
                });
                let reply = {
                    let mut hooks = hooks.lock().unwrap();
                    let mut device = device.lock().unwrap();
                    let code = payload[0];
                    if code == ACK && last_reply_was_stacked {
                        hooks.journaled_before_ack.push(
                            std::fs::read_to_string(journal)
                                .map(|t| !t.is_empty())
                                .unwrap_or(false),
                        );
                    }
                    if code == ACK && last_reply_was_stacked && hooks.lose_acks_after_stacked > 0 {
                        hooks.lose_acks_after_stacked -= 1;
                        None
                    } else if code != ACK && code != NAK && hooks.nak_commands > 0 {
                        hooks.nak_commands -= 1;
                        Some(vec![NAK])
                    } else if code == 0x35 && hooks.illegal_stacks > 0 {
                        hooks.illegal_stacks -= 1;
                        Some(vec![0x30])
                    } else if code == 0x35 && hooks.swallow_stack {
                        Some(vec![ACK])
                    } else if code == 0xEE {
                        Some(vec![NAK])
                    } else {
                        device.answer(&payload)
                    }
                };
                if let Some(reply) = reply {
                    let foreign = {
                        let mut hooks = hooks.lock().unwrap();
                        let due = hooks.foreign_frames > 0;
                        hooks.foreign_frames = hooks.foreign_frames.saturating_sub(1);
                        due
                    };
                    if foreign {
                        let other = kiosk_shell::ccnet::frame::encode(0x02, &[0x14]).unwrap();
                        if port.write_all(&other).is_err() {
                            break 'line;
                        }
                    }
                    if !(payload[0] == ACK || payload[0] == NAK) {
                        last_reply_was_stacked = reply.first() == Some(&0x81);
                    }
                    let bytes = device.lock().unwrap().frame(&reply);
                    line.lock().unwrap().push(Frame {
                        from: From::Device,
                        payload: reply,
                        at: Instant::now(),
                    });
                    if port.write_all(&bytes).is_err() {
                        break 'line;
                    }
                }
            }
        }
    }
}

/// The kiosk page's side of the bridge.
pub struct Page {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    pub seen: Vec<Value>,
    /// Messages before this index have been waited for already.
    cursor: usize,
}

impl Page {
    /// Opens the bridge as a browser page of `origin` would (`None`: no `Origin`
    /// header, like a program). A refused handshake is the error's HTTP status.
    pub async fn connect(url: &str, origin: Option<&str>) -> Result<Page, u16> {
        let mut request = url.into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", origin.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(Page {
                socket,
                seen: Vec::new(),
                cursor: 0,
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("cannot reach the bridge: {e}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn enable(&mut self, rubles: i64) {
        self.send(json!({"type": "enable", "max_amount": rubles * 100}))
            .await;
    }

    pub async fn ack(&mut self, event_id: &str) {
        self.send(json!({"type": "ack", "event_id": event_id}))
            .await;
    }

    /// Waits for the next message (after those already waited for) that satisfies
    /// `want`, and returns it.
    pub async fn until(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(i) = self.seen[self.cursor..].iter().position(&want) {
                self.cursor += i + 1;
                return self.seen[self.cursor - 1].clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.socket.next()).await {
                Err(_) => panic!("timed out waiting for {what}; saw {:#?}", self.seen),
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.seen.push(serde_json::from_str(text.as_str()).unwrap());
                }
                Ok(None) => panic!("the bridge closed while waiting for {what}"),
                Ok(_) => {}
            }
        }
    }

    /// Waits for a state message with this state whose detail contains `detail`.
    pub async fn state(&mut self, state: &str, detail: &str) -> Value {
        let what = format!("state {state} ({detail})");
        self.until(&what, |m| {
            m["type"] == "state"
                && m["state"] == state
                && m["detail"].as_str().is_some_and(|d| d.contains(detail))
        })
        .await
    }

    /// Waits for the next bill message.
    pub async fn bill(&mut self) -> Value {
        self.until("a bill", |m| m["type"] == "bill").await
    }

    pub fn bills(&self) -> Vec<Value> {
        self.seen
            .iter()
            .filter(|m| m["type"] == "bill")
            .cloned()
            .collect()
    }

    /// Reads whatever arrives for `period` (to check that nothing else does).
    pub async fn drain(&mut self, period: Duration) {
        let until = Instant::now() + period;
        while let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(
            until.saturating_duration_since(Instant::now()),
            self.socket.next(),
        )
        .await
        {
            if let Ok(v) = serde_json::from_str(text.as_str()) {
                self.seen.push(v);
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

pub fn path_of(rig: &Rig, name: &str) -> PathBuf {
    rig.dir.path().join(name)
}
