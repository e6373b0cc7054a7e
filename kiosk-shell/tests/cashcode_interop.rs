//! Our simulator against an independent host: the crates.io crate `cashcode` 0.1.2
//! (ccnet.md "Independent peers"). The `kiosk-shell ccnet-sim` binary runs on one end of
//! a socat PTY pair, the crate's `CashcodeDevice` on the other, and one 100 RUB bill goes
//! escrow → STACK → stacked.
//!
//! The crate is a loose host — it skips the ACK of every data reply except POLL's, keeps
//! no t-free after its ACKs, sends SET SECURITY on each "initializing" poll and a 6-byte
//! ENABLE mask — so this also proves that the simulator tolerates such hosts.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use cashcode::{BillMask, CashcodeDevice, DeviceState};

/// Generous: socat and the simulator start in well under a second on an idle machine.
const START_DEADLINE: Duration = Duration::from_secs(20);
/// The crate's own initialisation sleeps 2 s after each SET SECURITY.
const BILL_DEADLINE: Duration = Duration::from_secs(60);

/// Child processes killed (and reaped) when the test ends, passing or not.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A socat PTY pair in `dir`: returns (host end, device end).
fn socat_pair(dir: &Path, children: &mut Children) -> (PathBuf, PathBuf) {
    let host = dir.join("host");
    let device = dir.join("device");
    let log = std::fs::File::create(dir.join("socat.log")).expect("socat log");
    let child = Command::new("socat")
        .arg("-d")
        .arg("-d")
        .arg(format!("pty,raw,echo=0,link={}", host.display()))
        .arg(format!("pty,raw,echo=0,link={}", device.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("socat must be installed (scripts/install-deps.sh --test)");
    children.0.push(child);
    let deadline = Instant::now() + START_DEADLINE;
    while !(host.exists() && device.exists()) {
        assert!(
            Instant::now() < deadline,
            "socat made no PTY pair: {}",
            std::fs::read_to_string(dir.join("socat.log")).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(20));
    }
    (host, device)
}

/// The simulator binary on `link`, its script on standard input, its log collected.
struct Simulator {
    stdin: ChildStdin,
    lines: Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Simulator {
    fn start(link: &Path, children: &mut Children) -> Simulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk-shell"))
            .arg("ccnet-sim")
            .arg("--link")
            .arg(link)
            .env("KIOSK_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kiosk-shell ccnet-sim");
        let stdin = child.stdin.take().expect("simulator stdin");
        let stderr = child.stderr.take().expect("simulator stderr");
        children.0.push(child);
        let (tx, lines) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let keep = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                keep.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        Simulator { stdin, lines, log }
    }

    /// Waits until the simulator has opened its end: opening a port flushes it, so a
    /// command sent earlier would be lost.
    fn wait_on_line(&self) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains("CCNET simulator on the line") => return,
                Ok(_) => {}
                Err(_) => panic!("the simulator never opened its line:\n{}", self.log()),
            }
        }
    }

    fn script(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the simulator");
        self.stdin.flush().expect("flush the simulator's stdin");
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

/// Polls with the crate until `done` says so, recording every state change.
fn poll_until(
    dev: &mut CashcodeDevice,
    seen: &mut Vec<DeviceState>,
    sim: &Simulator,
    mut done: impl FnMut(&mut CashcodeDevice, &DeviceState) -> bool,
) {
    let deadline = Instant::now() + BILL_DEADLINE;
    loop {
        assert!(
            Instant::now() < deadline,
            "the crate never got there; states seen: {seen:?}\nsimulator:\n{}",
            sim.log()
        );
        let state = dev
            .poll()
            .unwrap_or_else(|e| panic!("POLL failed: {e}; states seen: {seen:?}\n{}", sim.log()));
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if done(dev, &state) {
            return;
        }
        thread::sleep(cashcode::POLL_INTERVAL);
    }
}

#[test]
fn cashcode_crate_stacks_a_bill_on_the_simulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut children = Children(Vec::new());
    let (host, device) = socat_pair(dir.path(), &mut children);
    let mut sim = Simulator::start(&device, &mut children);
    sim.wait_on_line();

    let mut dev = CashcodeDevice::open(host.to_str().expect("utf-8 path"), None, None)
        .expect("the crate opens the host end");

    // The crate's initialisation, step by step (what its CLI does): RESET, polls through
    // Initializing (with SET SECURITY) to Unit Disabled, IDENTIFICATION, GET BILL TABLE.
    dev.reset().expect("RESET");
    dev.wait_for_ready(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("not ready: {e}\n{}", sim.log()));
    let id = dev.identify().expect("IDENTIFICATION");
    assert_eq!(id.part_number, "SM-RU1353");
    assert_eq!(id.serial_number, "00K038AS3419");
    let table = dev.get_bill_table().expect("GET BILL TABLE");
    let hundred = table.get(4).expect("type 4 in the table");
    assert_eq!(hundred.denomination, 100);
    assert_eq!(hundred.country_str(), "RUS");

    // Enable: the crate sends FF×6; the unit goes from Unit Disabled to Idling.
    dev.enable_bill_types(BillMask::ALL)
        .expect("ENABLE BILL TYPES");
    let mut seen = Vec::new();
    poll_until(&mut dev, &mut seen, &sim, |_, s| *s == DeviceState::Idling);

    sim.script("insert 4");
    let mut escrow_polls = 0;
    poll_until(&mut dev, &mut seen, &sim, |dev, state| match state {
        DeviceState::EscrowPosition { bill_type } => {
            assert_eq!(*bill_type, 4, "escrow of the wrong bill");
            // Escrow repeats on every POLL until STACK: send it once.
            if escrow_polls == 0 {
                dev.stack().expect("STACK");
            }
            escrow_polls += 1;
            false
        }
        DeviceState::BillStacked { bill_type } => {
            assert_eq!(*bill_type, 4, "stacked the wrong bill");
            true
        }
        DeviceState::BillReturned { .. } | DeviceState::Rejecting(_) => {
            panic!("the bill did not go in: {state:?}")
        }
        _ => false,
    });
    assert_eq!(escrow_polls, 1, "the unit stayed in escrow after STACK");
    let value = table.get(4).map(|e| e.denomination);
    assert_eq!(value, Some(100));

    // The crate ACKed the 81 with its poll: the unit is idle again, not repeating it.
    poll_until(&mut dev, &mut seen, &sim, |_, s| {
        assert!(
            !matches!(
                s,
                DeviceState::BillStacked { .. } | DeviceState::EscrowPosition { .. }
            ),
            "the 81 repeated after the crate's ACK: {s:?}"
        );
        *s == DeviceState::Idling
    });

    let order = [
        DeviceState::Idling,
        DeviceState::Accepting,
        DeviceState::EscrowPosition { bill_type: 4 },
        DeviceState::Stacking,
        DeviceState::BillStacked { bill_type: 4 },
        DeviceState::Idling,
    ];
    assert_eq!(seen, order, "the crate saw an unexpected sequence");
}
