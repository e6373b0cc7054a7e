//! Bill latency: from the validator writing its `81` Bill Stacked reply to the kiosk page
//! receiving the bridge's `{"type":"bill"}` message, over many bills.
//!
//! The path measured is the real one: a socat PTY pair, the driver reading the 81, the
//! journal's append + fsync, the driver's ACK to the device, the event channel, the
//! bridge's broadcast and the WebSocket hop to a client on loopback. The device end is
//! `sim::Device` in a loop of our own that timestamps each 81 it writes; the client
//! enables the validator, acks every bill and timestamps each `bill` message.
//!
//! ```text
//! cargo bench -p kiosk-shell --bench bill_latency
//! BILL_LATENCY=50@200 cargo bench -p kiosk-shell --bench bill_latency   # bills@poll_ms,…
//! ```
//!
//! The poll interval does not enter the latency itself (the 81 is acted on as soon as it
//! is read), only the time a run takes; the default plan runs the spec's 200 ms and a
//! faster 20 ms poll.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use kiosk_shell::ccnet::bill_table::BillTable;
use kiosk_shell::ccnet::codes::Status;
use kiosk_shell::ccnet::driver::DriverConfig;
use kiosk_shell::ccnet::frame::{self, ADDRESS_BILL_VALIDATOR};
use kiosk_shell::ccnet::port;
use kiosk_shell::ccnet::script::Action;
use kiosk_shell::ccnet::sim::Device;
use kiosk_shell::ccnet::stream::{FrameReader, Item};
use kiosk_shell::terminal::{self, TerminalConfig, Validator};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Runs when `BILL_LATENCY` is not set: (bills, poll interval in ms).
const DEFAULT_PLAN: &[(usize, u64)] = &[(300, 20), (60, 200)];
/// The bill inserted every time: type 4, 100 RUB in the Russian table.
const BILL_TYPE: u8 = 4;
/// Far above the limit a run can reach (300 × 100 RUB), in kopecks.
const MAX_AMOUNT: i64 = 100_000_000;
/// The origin the bridge lets in, standing for the kiosk page's.
const PAGE_ORIGIN: &str = "http://127.0.0.1:8404";
/// A bill takes about seven polls; anything slower than this per bill is a hang.
const PER_BILL_POLLS_MAX: u32 = 60;

fn main() {
    let plan = match std::env::var("BILL_LATENCY") {
        Ok(spec) => parse_plan(&spec),
        Err(_) => DEFAULT_PLAN.to_vec(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "bill latency: 81 Bill Stacked written → bridge `bill` received (release build: {})",
        !cfg!(debug_assertions)
    );
    for (bills, poll_ms) in plan {
        let poll = Duration::from_millis(poll_ms);
        let started = Instant::now();
        let latencies = runtime.block_on(run(bills, poll));
        report(bills, poll, &latencies, started.elapsed());
    }
}

fn parse_plan(spec: &str) -> Vec<(usize, u64)> {
    spec.split(',')
        .map(|item| {
            let (bills, poll) = item
                .trim()
                .split_once('@')
                .expect("BILL_LATENCY is BILLS@POLL_MS[,…]");
            (
                bills.parse().expect("bills is a number"),
                poll.parse().expect("poll_ms is a number"),
            )
        })
        .collect()
}

fn report(bills: usize, poll: Duration, latencies: &[Duration], took: Duration) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let rank =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    let mean = sorted.iter().sum::<Duration>() / sorted.len() as u32;
    println!(
        "  {bills} bills, poll {} ms: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (min {:.2}, mean {:.2}, first bill {:.2}; run took {:.0} s)",
        poll.as_millis(),
        ms(rank(0.50)),
        ms(rank(0.99)),
        ms(sorted[sorted.len() - 1]),
        ms(sorted[0]),
        ms(mean),
        ms(latencies[0]),
        took.as_secs_f64(),
    );
}

/// One run: a fresh PTY pair, device, terminal and journal; returns one latency per bill.
async fn run(bills: usize, poll: Duration) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut socat = Socat::start(dir.path());
    let unit = DeviceLoop::start(socat.device.clone(), bills);

    let journal_dir = dir.path().join("journal");
    let config = TerminalConfig {
        validator: Validator::Serial(socat.host.clone()),
        bridge_listen: "127.0.0.1:0".parse().expect("loopback address"),
        frame_log: Some(journal_dir.join("frames.log")),
        journal_dir,
        portal: None,
        page_origin: Some(PAGE_ORIGIN.into()),
        login: None,
        password: None,
        trust: Default::default(),
        terminal: None,
        driver: DriverConfig {
            poll_interval: poll,
            ..DriverConfig::default()
        },
        bridge_limits: kiosk_shell::bridge::LIMITS,
    };
    let term = terminal::start(config).await.expect("terminal starts");
    let mut request = term
        .bridge_url
        .as_str()
        .into_client_request()
        .expect("the bridge URL");
    request.headers_mut().insert(
        "Origin",
        PAGE_ORIGIN.parse().expect("an origin header value"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect to the bridge");
    let enable = serde_json::json!({"type": "enable", "max_amount": MAX_AMOUNT});
    socket
        .send(Message::Text(enable.to_string().into()))
        .await
        .expect("send enable");

    let mut received_at = Vec::with_capacity(bills);
    let deadline = Duration::from_secs(30) + poll * PER_BILL_POLLS_MAX * bills as u32;
    let receive = async {
        while received_at.len() < bills {
            let message = socket
                .next()
                .await
                .expect("the bridge closed")
                .expect("bridge read");
            let Message::Text(text) = message else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
            if value["type"] != "bill" {
                continue;
            }
            received_at.push(Instant::now());
            assert_eq!(value["amount"], 10_000, "a 100 RUB bill");
            unit.received.fetch_add(1, Ordering::SeqCst);
            let ack = serde_json::json!({"type": "ack", "event_id": value["event_id"]});
            socket
                .send(Message::Text(ack.to_string().into()))
                .await
                .expect("send ack");
        }
    };
    if tokio::time::timeout(deadline, receive).await.is_err() {
        panic!(
            "only {} of {bills} bills arrived in {deadline:?}",
            unit.received.load(Ordering::SeqCst)
        );
    }
    let _ = socket.close(None).await;
    term.shutdown().await;
    let stacked_at = unit.stop();
    socat.stop();

    assert_eq!(stacked_at.len(), bills, "one 81 written per bill");
    stacked_at
        .iter()
        .zip(&received_at)
        .map(|(stacked, received)| {
            received
                .checked_duration_since(*stacked)
                .expect("a bill message before its 81 was written")
        })
        .collect()
}

/// `socat pty,raw,echo=0 pty,raw,echo=0`, killed when dropped.
struct Socat {
    child: Option<Child>,
    host: PathBuf,
    device: PathBuf,
}

impl Socat {
    fn start(dir: &Path) -> Socat {
        let host = dir.join("host");
        let device = dir.join("device");
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", host.display()))
            .arg(format!("pty,raw,echo=0,link={}", device.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat must be installed (scripts/install-deps.sh --test)");
        let socat = Socat {
            child: Some(child),
            host,
            device,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(socat.host.exists() && socat.device.exists()) {
            assert!(Instant::now() < deadline, "socat made no PTY pair");
            thread::sleep(Duration::from_millis(20));
        }
        socat
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The simulated unit on its PTY end, inserting the next bill when it is idle and the
/// client has the previous one, so that one bill at a time is in flight.
struct DeviceLoop {
    /// Bills the WebSocket client has received.
    received: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    stacked_at: Arc<Mutex<Vec<Instant>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DeviceLoop {
    fn start(link: PathBuf, bills: usize) -> DeviceLoop {
        let received = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let stacked_at = Arc::new(Mutex::new(Vec::with_capacity(bills)));
        let (r, s, at) = (received.clone(), stop.clone(), stacked_at.clone());
        let thread = thread::Builder::new()
            .name("bench-device".into())
            .spawn(move || serve(&link, bills, &r, &s, &at))
            .expect("device thread");
        DeviceLoop {
            received,
            stop,
            stacked_at,
            thread: Some(thread),
        }
    }

    /// Stops the loop; the instants each bill's first 81 was written.
    fn stop(mut self) -> Vec<Instant> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("device thread");
        }
        std::mem::take(&mut *self.stacked_at.lock().expect("stacked_at"))
    }
}

fn serve(
    link: &Path,
    bills: usize,
    received: &AtomicUsize,
    stop: &AtomicBool,
    stacked_at: &Mutex<Vec<Instant>>,
) {
    let mut line = port::open(link).expect("open the device end");
    let mut unit = Device::new(BillTable::russian());
    let mut reader = FrameReader::new();
    let mut chunk = [0u8; 256];
    let mut inserted = 0usize;
    while !stop.load(Ordering::SeqCst) {
        match line.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => reader.push(&chunk[..n]),
            Err(e) if port::is_timeout(&e) => continue,
            Err(_) => return,
        }
        while let Some(item) = reader.next_item() {
            let Item::Frame(request, _) = item else {
                continue;
            };
            if request.address != ADDRESS_BILL_VALIDATOR {
                continue;
            }
            let Some(reply) = unit.answer(&request.payload) else {
                continue;
            };
            let bytes = frame::encode(ADDRESS_BILL_VALIDATOR, &reply).expect("short frame");
            if line.write_all(&bytes).and_then(|()| line.flush()).is_err() {
                return;
            }
            let status = Status::parse(&reply);
            if let Some(Status::Stacked(_)) = status {
                // The 81 repeats until ACKed: the first one of each bill counts.
                let mut at = stacked_at.lock().expect("stacked_at");
                if at.len() < inserted {
                    at.push(Instant::now());
                }
            }
            if status == Some(Status::Idling)
                && inserted < bills
                && received.load(Ordering::SeqCst) >= inserted
            {
                unit.act(&Action::Insert(BILL_TYPE));
                inserted += 1;
            }
        }
    }
}
