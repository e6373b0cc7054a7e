//! The durable journal of stacked bills (wire.md "Kiosk bridge").
//!
//! A bill is appended and fsynced *before* the validator's Bill Stacked reply is
//! acknowledged, so a bill in the cassette is never a bill forgotten by the shell: after
//! a crash or a lost page it is sent again until the page acknowledges it. The files are
//! append-only JSON lines, readable with `cat`:
//!
//! * `bills.jsonl` — one line per stacked bill, with its `event_id`, and before each one a
//!   `{"stack_sent":T}` line written before STACK goes to the validator; a bill the unit
//!   recovered at power-up before its bill table could be read is first a
//!   `{"held":{…}}` line (its `event_id` and type, no amount yet), then a bill line with
//!   the same `event_id` once the table values it;
//! * `acks.jsonl` — one line per bill the page has acknowledged (it has shown it);
//! * `delivered.jsonl` — one line per bill the agent has answered for (counted into a
//!   session, kept as unassigned cash, or refused), so the reporter sends each bill until
//!   the agent has it, across agent outages and shell restarts.
//!
//! A torn last line (power cut mid-write) is skipped when the journal is read back.
//!
//! Why the STACK line: a Bill Stacked (81) repeats until the validator gets our ACK. If
//! the shell dies after journaling a bill and before its ACK reaches the unit, the
//! restarted shell is greeted with that same 81. A new bill can only reach the cassette
//! after a STACK of ours, so an 81 with no STACK journaled since the last bill is that
//! bill again — acknowledged, not counted twice.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shared::money::Kopecks;

use crate::ccnet::bill_table::BillTable;

/// The unit's last bill table, as the 120 bytes in hex.
const BILL_TABLE_FILE: &str = "bill-table.hex";

/// A bill in the cassette, as the page receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackedBill {
    /// Unique across restarts and journal loss: this shell's id, the time, a sequence.
    pub event_id: String,
    pub amount: Kopecks,
    pub bill_type: u8,
    /// Credited after a power loss (status 12, then 81 after initialization).
    #[serde(default)]
    pub recovered: bool,
    pub stacked_at: String,
    /// The agent's session the validator was enabled for when the bill was stacked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct AckLine {
    event_id: String,
}

/// STACK is about to go to the validator for a bill of this type.
#[derive(Serialize, Deserialize)]
struct StackLine {
    stack_sent: u8,
    at: String,
}

/// The agent's answer for a bill: it will not be sent again.
#[derive(Serialize, Deserialize)]
struct DeliveredLine {
    event_id: String,
    /// `credited`, `unassigned`, or `refused: …` (a bill the agent will never take: the
    /// operator must look at it).
    outcome: String,
    at: String,
}

/// A bill in the cassette whose value is not known yet: the unit reported it at power-up
/// (credit recovery) before its bill table was read. Its `event_id` is fixed now, so the
/// bill line that values it later, and a repeat of its Bill Stacked, refer to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldBill {
    pub event_id: String,
    pub bill_type: u8,
    pub stacked_at: String,
}

#[derive(Serialize, Deserialize)]
struct HeldLine {
    held: HeldBill,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BillsLine {
    Bill(StackedBill),
    Stack(StackLine),
    Held(HeldLine),
}

/// The journal of one shell.
pub struct Journal {
    dir: PathBuf,
    bills: File,
    acks: File,
    delivered: File,
    shell_id: String,
    sequence: u64,
    unacked: Vec<StackedBill>,
    /// Bills the agent has not answered for yet, oldest first.
    undelivered: Vec<StackedBill>,
    /// The agent's session the validator is enabled for now (stamped on each new bill).
    session: Option<i64>,
    /// Told when the unit's bill table has been read and kept (the reporter sends it).
    on_table: Option<Box<dyn Fn() + Send>>,
    /// The bill type of the STACK journaled after the last bill, if there is one: the
    /// next 81 is a new bill, and it must be of this type.
    stack_since_last_bill: Option<u8>,
    /// The `event_id` of the last bill (held or valued) journaled.
    last_event_id: Option<String>,
    /// A held bill not valued yet.
    held: Option<HeldBill>,
}

impl Journal {
    /// Opens (creating) the journal in `dir` and reads back what is not acknowledged.
    pub fn open(dir: &Path) -> io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        let shell_id = shell_id(dir)?;
        let bills_path = dir.join("bills.jsonl");
        let acks_path = dir.join("acks.jsonl");
        let delivered_path = dir.join("delivered.jsonl");
        let delivered: HashSet<String> = read_lines::<DeliveredLine>(&delivered_path)?
            .into_iter()
            .map(|d| d.event_id)
            .collect();
        let acked: HashSet<String> = read_lines::<AckLine>(&acks_path)?
            .into_iter()
            .map(|a| a.event_id)
            .collect();
        let lines = read_lines::<BillsLine>(&bills_path)?;
        let mut stack_since_last_bill = None;
        let mut last_event_id = None;
        let mut held: Option<HeldBill> = None;
        let mut all: Vec<StackedBill> = Vec::new();
        let mut sequence = 0u64;
        for line in lines {
            match line {
                BillsLine::Bill(bill) => {
                    if held.as_ref().is_some_and(|h| h.event_id == bill.event_id) {
                        held = None;
                    }
                    stack_since_last_bill = None;
                    last_event_id = Some(bill.event_id.clone());
                    sequence += 1;
                    all.push(bill);
                }
                BillsLine::Stack(stack) => stack_since_last_bill = Some(stack.stack_sent),
                BillsLine::Held(line) => {
                    stack_since_last_bill = None;
                    last_event_id = Some(line.held.event_id.clone());
                    sequence += 1;
                    held = Some(line.held);
                }
            }
        }
        let undelivered: Vec<StackedBill> = all
            .iter()
            .filter(|b| !delivered.contains(&b.event_id))
            .cloned()
            .collect();
        if !undelivered.is_empty() {
            tracing::warn!(
                count = undelivered.len(),
                "stacked bills not yet answered for by the agent; they will be reported again"
            );
        }
        let unacked: Vec<StackedBill> = all
            .into_iter()
            .filter(|b| !acked.contains(&b.event_id))
            .collect();
        if !unacked.is_empty() {
            tracing::warn!(
                count = unacked.len(),
                "stacked bills not yet acknowledged by the page; they will be sent again"
            );
        }
        Ok(Journal {
            dir: dir.to_path_buf(),
            bills: open_for_append(&bills_path)?,
            acks: open_for_append(&acks_path)?,
            delivered: open_for_append(&delivered_path)?,
            shell_id,
            sequence,
            unacked,
            undelivered,
            session: None,
            on_table: None,
            stack_since_last_bill,
            last_event_id,
            held,
        })
    }

    /// Journals that STACK is about to be sent, before it is.
    pub fn stack_sent(&mut self, bill_type: u8) -> io::Result<()> {
        let at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        append_line(
            &mut self.bills,
            &StackLine {
                stack_sent: bill_type,
                at,
            },
        )?;
        self.stack_since_last_bill = Some(bill_type);
        Ok(())
    }

    /// The `event_id` of the bill a Bill Stacked now would repeat (see the module's
    /// notes), if any.
    pub fn repeated_bill(&self) -> Option<&str> {
        match self.stack_since_last_bill {
            Some(_) => None,
            None => self.last_event_id.as_deref(),
        }
    }

    /// The bill type of a STACK journaled since the last bill: a Bill Stacked heard now
    /// (also by a restarted shell) may be a new bill only of this type.
    pub fn pending_stack(&self) -> Option<u8> {
        self.stack_since_last_bill
    }

    /// The held bill waiting for the bill table, if any.
    pub fn held(&self) -> Option<&HeldBill> {
        self.held.as_ref()
    }

    /// Journals (and fsyncs) a bill in the cassette that cannot be valued yet.
    pub fn hold(&mut self, bill_type: u8) -> io::Result<HeldBill> {
        let (event_id, stacked_at) = self.next_event_id();
        let held = HeldBill {
            event_id,
            bill_type,
            stacked_at,
        };
        append_line(&mut self.bills, &HeldLine { held: held.clone() })?;
        self.stack_since_last_bill = None;
        self.last_event_id = Some(held.event_id.clone());
        self.held = Some(held.clone());
        Ok(held)
    }

    /// Values the held bill: a bill line under its `event_id`, a recovered bill.
    pub fn release_held(&mut self, amount: Kopecks) -> io::Result<Option<StackedBill>> {
        let Some(held) = self.held.clone() else {
            return Ok(None);
        };
        let bill = StackedBill {
            event_id: held.event_id,
            amount,
            bill_type: held.bill_type,
            recovered: true,
            stacked_at: held.stacked_at,
            // A recovery belongs to whatever session is open now, usually none: the agent
            // then keeps it as unassigned cash.
            session_id: self.session,
        };
        self.append_bill(&bill)?;
        self.held = None;
        Ok(Some(bill))
    }

    fn next_event_id(&mut self) -> (String, String) {
        self.sequence += 1;
        let now = time::OffsetDateTime::now_utc();
        let event_id = format!(
            "{}-{}-{}",
            self.shell_id,
            now.unix_timestamp_nanos() / 1_000_000,
            self.sequence
        );
        let at = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        (event_id, at)
    }

    fn append_bill(&mut self, bill: &StackedBill) -> io::Result<()> {
        append_line(&mut self.bills, bill)?;
        self.stack_since_last_bill = None;
        self.last_event_id = Some(bill.event_id.clone());
        self.unacked.push(bill.clone());
        self.undelivered.push(bill.clone());
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends a stacked bill and forces it to disk before returning.
    pub fn record(
        &mut self,
        bill_type: u8,
        amount: Kopecks,
        recovered: bool,
    ) -> io::Result<StackedBill> {
        let (event_id, stacked_at) = self.next_event_id();
        let bill = StackedBill {
            event_id,
            amount,
            bill_type,
            recovered,
            stacked_at,
            session_id: self.session,
        };
        self.append_bill(&bill)?;
        Ok(bill)
    }

    /// The agent's session that bills stacked from now on belong to (`None`: no session;
    /// the agent keeps such bills as unassigned cash).
    pub fn set_session(&mut self, session: Option<i64>) {
        self.session = session;
    }

    /// `hook` runs each time the unit's bill table has been read and kept.
    pub fn on_table_kept(&mut self, hook: Box<dyn Fn() + Send>) {
        self.on_table = Some(hook);
    }

    /// Bills the agent has not answered for, oldest first.
    pub fn undelivered(&self) -> &[StackedBill] {
        &self.undelivered
    }

    /// The agent has answered for the bill (`outcome` says how): it is not sent again.
    pub fn delivered(&mut self, event_id: &str, outcome: &str) -> io::Result<()> {
        let Some(at) = self.undelivered.iter().position(|b| b.event_id == event_id) else {
            return Ok(());
        };
        append_line(
            &mut self.delivered,
            &DeliveredLine {
                event_id: event_id.to_string(),
                outcome: outcome.to_string(),
                at: time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            },
        )?;
        self.undelivered.remove(at);
        Ok(())
    }

    /// The page has the bill counted: it is not sent again. Unknown ids are ignored.
    pub fn ack(&mut self, event_id: &str) -> io::Result<bool> {
        let Some(at) = self.unacked.iter().position(|b| b.event_id == event_id) else {
            return Ok(false);
        };
        append_line(
            &mut self.acks,
            &AckLine {
                event_id: event_id.to_string(),
            },
        )?;
        self.unacked.remove(at);
        Ok(true)
    }

    /// Bills stacked but not acknowledged, oldest first.
    pub fn unacked(&self) -> &[StackedBill] {
        &self.unacked
    }
}

/// Opens a journal file for appending, ending a torn last line first so that the next
/// record starts on a line of its own.
fn open_for_append(path: &Path) -> io::Result<File> {
    // Owner-only: the journal is the record of the customers' money.
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    let len = file.metadata()?.len();
    if len > 0 {
        use std::io::{Read, Seek, SeekFrom};
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            file.write_all(b"\n")?;
            file.sync_data()?;
        }
    }
    Ok(file)
}

fn append_line<T: Serialize>(file: &mut File, value: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<Vec<T>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(v) => out.push(v),
            Err(e) => {
                tracing::warn!(file = %path.display(), line = n + 1, error = %e, "skipping a damaged journal line")
            }
        }
    }
    Ok(out)
}

/// This shell's id, made once from the kernel's random source and kept in the journal.
fn shell_id(dir: &Path) -> io::Result<String> {
    let path = dir.join("shell-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    let mut bytes = [0u8; 6];
    io::Read::read_exact(&mut File::open("/dev/urandom")?, &mut bytes)?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(id.as_bytes())?;
    file.sync_all()?;
    Ok(id)
}

impl crate::ccnet::driver::BillSink for std::sync::Arc<std::sync::Mutex<Journal>> {
    fn stack_sent(&mut self, bill_type: u8) -> io::Result<()> {
        self.lock()
            .map_err(|_| io::Error::other("journal lock poisoned"))?
            .stack_sent(bill_type)
    }

    fn repeated_bill(&self) -> Option<String> {
        self.lock()
            .ok()
            .and_then(|j| j.repeated_bill().map(str::to_owned))
    }

    fn pending_stack(&self) -> Option<u8> {
        self.lock().ok().and_then(|j| j.pending_stack())
    }

    fn hold(&mut self, bill_type: u8) -> io::Result<HeldBill> {
        self.lock()
            .map_err(|_| io::Error::other("journal lock poisoned"))?
            .hold(bill_type)
    }

    fn held(&self) -> Option<HeldBill> {
        self.lock().ok().and_then(|j| j.held().cloned())
    }

    fn release_held(&mut self, amount: Kopecks) -> io::Result<Option<StackedBill>> {
        self.lock()
            .map_err(|_| io::Error::other("journal lock poisoned"))?
            .release_held(amount)
    }

    fn remember_table(&mut self, table: &BillTable) -> io::Result<()> {
        let dir = self
            .lock()
            .map_err(|_| io::Error::other("journal lock poisoned"))?
            .dir
            .clone();
        let hex = crate::ccnet::stream::hex(&table.to_bytes());
        let tmp = dir.join("bill-table.hex.tmp");
        std::fs::write(&tmp, hex)?;
        std::fs::rename(&tmp, dir.join(BILL_TABLE_FILE))?;
        if let Ok(journal) = self.lock()
            && let Some(hook) = &journal.on_table
        {
            hook();
        }
        Ok(())
    }

    fn remembered_table(&self) -> Option<BillTable> {
        let dir = self.lock().ok()?.dir.clone();
        let text = std::fs::read_to_string(dir.join(BILL_TABLE_FILE)).ok()?;
        let bytes: Option<Vec<u8>> = text
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).ok())
            .collect();
        BillTable::parse(&bytes?)
    }

    fn record(
        &mut self,
        bill_type: u8,
        amount: Kopecks,
        recovered: bool,
    ) -> io::Result<StackedBill> {
        let mut journal = self
            .lock()
            .map_err(|_| io::Error::other("journal lock poisoned"))?;
        journal.record(bill_type, amount, recovered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_files_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        // A journal left by an older version with a wide mode is narrowed on open.
        for name in ["acks.jsonl", "delivered.jsonl"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
            std::fs::set_permissions(
                dir.path().join(name),
                std::fs::Permissions::from_mode(0o644),
            )
            .unwrap();
        }
        let mut j = Journal::open(dir.path()).unwrap();
        let bill = j.record(4, Kopecks::new(10_000), false).unwrap();
        // The agent's answers for the bills are a record of money too.
        j.delivered(&bill.event_id, "credited to session 1")
            .unwrap();
        for name in ["bills.jsonl", "acks.jsonl", "delivered.jsonl", "shell-id"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{name} is {mode:o}");
        }
    }

    #[test]
    fn survives_reopen_and_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = {
            let mut j = Journal::open(dir.path()).unwrap();
            let a = j.record(4, Kopecks::new(10_000), false).unwrap();
            let b = j.record(5, Kopecks::new(50_000), true).unwrap();
            assert!(j.ack(&a.event_id).unwrap());
            assert!(!j.ack("nobody").unwrap());
            (a, b)
        };
        // A power cut mid-append leaves half a line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("bills.jsonl"))
            .unwrap();
        f.write_all(b"{\"event_id\":\"x").unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.unacked(), std::slice::from_ref(&second));
        let c = j.record(6, Kopecks::new(100_000), false).unwrap();
        assert_ne!(c.event_id, first.event_id);
        assert_ne!(c.event_id, second.event_id);
        assert!(
            c.event_id
                .starts_with(first.event_id.split('-').next().unwrap())
        );
        // No STACK since bill c: an 81 now would be c again, also after a reopen.
        assert_eq!(j.repeated_bill(), Some(c.event_id.as_str()));
        assert_eq!(j.pending_stack(), None);
        j.stack_sent(4).unwrap();
        assert!(j.repeated_bill().is_none());
        let j = Journal::open(dir.path()).unwrap();
        assert!(
            j.repeated_bill().is_none(),
            "the STACK line survives a reopen"
        );
        assert_eq!(j.pending_stack(), Some(4), "and so does its bill type");
    }

    /// A bill held for the bill table survives a restart: still held, its Bill Stacked
    /// still recognised as a repeat, valued later under the `event_id` it got when held.
    #[test]
    fn a_held_bill_survives_reopen_and_is_valued_once() {
        let dir = tempfile::tempdir().unwrap();
        let held = {
            let mut j = Journal::open(dir.path()).unwrap();
            j.stack_sent(4).unwrap();
            let held = j.hold(4).unwrap();
            assert_eq!(j.pending_stack(), None);
            held
        };
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.held(), Some(&held));
        assert_eq!(j.repeated_bill(), Some(held.event_id.as_str()));
        assert!(
            j.unacked().is_empty(),
            "not a bill for the page before it has a value"
        );
        let bill = j.release_held(Kopecks::new(10_000)).unwrap().unwrap();
        assert_eq!(bill.event_id, held.event_id);
        assert!(bill.recovered);
        assert_eq!(j.release_held(Kopecks::new(10_000)).unwrap(), None);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.held(), None, "valued once, also after a reopen");
        assert_eq!(j.unacked(), std::slice::from_ref(&bill));
        let next = Journal::open(dir.path())
            .unwrap()
            .record(5, Kopecks::new(50_000), false)
            .unwrap();
        assert_ne!(next.event_id, bill.event_id);
    }

    #[test]
    fn bills_stay_undelivered_until_the_agent_answers_also_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = {
            let mut j = Journal::open(dir.path()).unwrap();
            j.set_session(Some(7));
            let a = j.record(4, Kopecks::new(10_000), false).unwrap();
            j.set_session(None);
            let b = j.record(5, Kopecks::new(50_000), false).unwrap();
            assert_eq!(a.session_id, Some(7));
            assert_eq!(b.session_id, None);
            // The page's ack is not the agent's answer.
            assert!(j.ack(&a.event_id).unwrap());
            assert_eq!(j.undelivered().len(), 2);
            j.delivered(&a.event_id, "credited").unwrap();
            assert_eq!(j.undelivered(), std::slice::from_ref(&b));
            (a, b)
        };
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.undelivered(), std::slice::from_ref(&b));
        assert_ne!(j.undelivered()[0].event_id, a.event_id);
        j.delivered(&b.event_id, "unassigned").unwrap();
        let j = Journal::open(dir.path()).unwrap();
        assert!(j.undelivered().is_empty());
    }
}
