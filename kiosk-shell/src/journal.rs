//! The durable journal of stacked bills (wire.md "Kiosk bridge").
//!
//! A bill is appended and fsynced *before* the validator's Bill Stacked reply is
//! acknowledged, so a bill in the cassette is never a bill forgotten by the shell: after
//! a crash or a lost page it is sent again until the page acknowledges it. The files are
//! append-only JSON lines, readable with `cat`:
//!
//! * `bills.jsonl` — one line per stacked bill, with its `event_id`, and before each one a
//!   `{"stack_sent":T}` line written before STACK goes to the validator;
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

/// The agent's answer for a bill: it will not be sent again.
#[derive(Serialize, Deserialize)]
struct DeliveredLine {
    event_id: String,
    /// `credited`, `unassigned`, or `refused: …` (a bill the agent will never take: the
    /// operator must look at it).
    outcome: String,
    at: String,
}

/// STACK is about to go to the validator for a bill of this type.
#[derive(Serialize, Deserialize)]
struct StackLine {
    stack_sent: u8,
    at: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BillsLine {
    Bill(StackedBill),
    // Read only to know that it is there.
    Stack(#[allow(dead_code)] StackLine),
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
    /// A STACK was journaled after the last bill (or there is no bill yet): the next 81
    /// is a new bill.
    stack_since_last_bill: bool,
    last_bill: Option<StackedBill>,
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
        let stack_since_last_bill = !matches!(lines.last(), Some(BillsLine::Bill(_)));
        let all: Vec<StackedBill> = lines
            .into_iter()
            .filter_map(|l| match l {
                BillsLine::Bill(b) => Some(b),
                BillsLine::Stack(_) => None,
            })
            .collect();
        let sequence = all.len() as u64;
        let last_bill = all.last().cloned();
        let undelivered: Vec<StackedBill> = all
            .iter()
            .filter(|b| !delivered.contains(&b.event_id))
            .cloned()
            .collect();
        let unacked: Vec<StackedBill> = all
            .into_iter()
            .filter(|b| !acked.contains(&b.event_id))
            .collect();
        if !undelivered.is_empty() {
            tracing::warn!(
                count = undelivered.len(),
                "stacked bills not yet answered for by the agent; they will be reported again"
            );
        }
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
            last_bill,
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
        self.stack_since_last_bill = true;
        Ok(())
    }

    /// The bill a Bill Stacked now would repeat (see the module's notes), if any.
    pub fn repeated_bill(&self) -> Option<&StackedBill> {
        if self.stack_since_last_bill {
            None
        } else {
            self.last_bill.as_ref()
        }
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
        self.sequence += 1;
        let now = time::OffsetDateTime::now_utc();
        let bill = StackedBill {
            event_id: format!(
                "{}-{}-{}",
                self.shell_id,
                now.unix_timestamp_nanos() / 1_000_000,
                self.sequence
            ),
            amount,
            bill_type,
            recovered,
            stacked_at: now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            session_id: self.session,
        };
        append_line(&mut self.bills, &bill)?;
        self.stack_since_last_bill = false;
        self.last_bill = Some(bill.clone());
        self.unacked.push(bill.clone());
        self.undelivered.push(bill.clone());
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
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
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
    let mut file = File::create(&path)?;
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
            .and_then(|j| j.repeated_bill().map(|b| b.event_id.clone()))
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
        assert_eq!(j.repeated_bill().map(|b| &b.event_id), Some(&c.event_id));
        j.stack_sent(4).unwrap();
        assert!(j.repeated_bill().is_none());
        let j = Journal::open(dir.path()).unwrap();
        assert!(
            j.repeated_bill().is_none(),
            "the STACK line survives a reopen"
        );
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
