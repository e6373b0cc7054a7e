//! The host driver: a poll loop that brings a bill validator up, enables it for a
//! session's limit, decides every escrow, and credits each stacked bill exactly once —
//! after it is journaled and the device's Bill Stacked reply is acknowledged
//! (ccnet.md §1.7 and the checklist of §4).
//!
//! It runs on its own thread: the protocol is a strict request/answer exchange with
//! millisecond timing, which blocking I/O keeps simple and predictable. The rest of the
//! shell talks to it through [`Control`] messages in and [`Event`]s out.

use std::io;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use shared::money::Kopecks;

use super::bill_table::BillTable;
use super::codes::{Status, command};
use super::link::{Link, LinkError, LinkTiming, Reply};
use super::port::Port;
use crate::journal::{HeldBill, StackedBill};

/// What the rest of the shell asks of the validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Accept bills for a session, up to `max_amount` in total from now on.
    Enable { max_amount: Kopecks },
    /// Stop accepting; a bill in escrow goes back to the customer.
    Disable,
    /// The page went away: stop accepting, but HOLD a bill in escrow for a while in case
    /// the page comes back and enables again.
    PageLost,
    /// Disable the unit and stop the driver.
    Shutdown,
}

/// The validator's state as the page sees it (wire.md "Kiosk bridge").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidatorState {
    Disabled,
    Idle,
    Accepting,
    Escrow,
    Stacking,
    Fault,
}

/// What the driver tells the rest of the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    State {
        state: ValidatorState,
        detail: String,
    },
    /// A bill is in the cassette, journaled and acknowledged: credit it.
    Bill(StackedBill),
}

/// Durable storage of stacked bills, written before the device is acknowledged.
pub trait BillSink: Send {
    /// Durably notes that STACK is about to be sent (before it is).
    fn stack_sent(&mut self, bill_type: u8) -> io::Result<()>;
    /// The bill a Bill Stacked would repeat: one journaled with no STACK since.
    fn repeated_bill(&self) -> Option<String>;
    /// The bill type of a STACK journaled since the last bill (a restarted shell inherits
    /// it: the unit may still report that bill's Bill Stacked).
    fn pending_stack(&self) -> Option<u8>;
    /// Durably notes a stacked bill that cannot be valued yet (power-up recovery before the
    /// bill table is read), before its Bill Stacked is acknowledged.
    fn hold(&mut self, bill_type: u8) -> io::Result<HeldBill>;
    /// The bill held for the bill table, if any (also one held before a restart).
    fn held(&self) -> Option<HeldBill>;
    /// Values the held bill: journaled as a recovered bill under its `event_id`.
    fn release_held(&mut self, amount: Kopecks) -> io::Result<Option<StackedBill>>;
    /// The unit's bill table as last read, kept so that a Bill Stacked heard before the
    /// unit is identified again (the first poll after a restart) can still be valued.
    fn remember_table(&mut self, table: &BillTable) -> io::Result<()>;
    fn remembered_table(&self) -> Option<BillTable>;
    fn record(
        &mut self,
        bill_type: u8,
        amount: Kopecks,
        recovered: bool,
    ) -> io::Result<StackedBill>;
}

/// Opens (and re-opens, after the line is lost) the serial port.
pub type Opener = Box<dyn FnMut() -> io::Result<Box<dyn Port>> + Send>;

/// The driver's timing; the defaults are the spec's recommendations.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    pub link: LinkTiming,
    /// T-poll: the spec's minimum is 100 ms, 200 ms recommended.
    pub poll_interval: Duration,
    /// t-non-response: silence this long means offline.
    pub offline_after: Duration,
    /// While offline, RESET this often (the spec says at least every 10 s).
    pub reset_every: Duration,
    /// While waiting in escrow, HOLD this often (the device returns the bill after 10 s).
    pub hold_every: Duration,
    /// How long a bill may be held waiting for the page to come back.
    pub hold_at_most: Duration,
    /// Bill Stacked must follow STACK within this (the spec's 30 s).
    pub stack_timeout: Duration,
    /// How often a lost port is re-opened.
    pub reopen_every: Duration,
    /// Polls that may still say "disabled" after ENABLE before it counts as ignored.
    pub enable_grace_polls: u32,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            link: LinkTiming::default(),
            poll_interval: Duration::from_millis(200),
            offline_after: Duration::from_secs(5),
            reset_every: Duration::from_secs(3),
            hold_every: Duration::from_secs(5),
            hold_at_most: Duration::from_secs(30),
            stack_timeout: Duration::from_secs(30),
            reopen_every: Duration::from_secs(1),
            enable_grace_polls: 5,
        }
    }
}

/// One bill between Escrow and Stacked/Returned.
#[derive(Debug)]
struct EscrowCycle {
    bill_type: u8,
    since: Instant,
    /// STACK or RETURN was sent and acknowledged: never a second one this cycle.
    decided: bool,
    last_hold: Option<Instant>,
}

/// The STACK a Bill Stacked must answer (issue #13: a bill is credited only for the type
/// this driver escrowed and told the unit to stack). It is set when STACK is journaled,
/// just before it is sent, so a STACK whose ACK the line lost still counts; a restarted
/// shell inherits the one its journal ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StackOrder {
    bill_type: u8,
}

/// Why a Bill Stacked is not credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unordered {
    /// No STACK of ours is waiting for a bill, and it is not a power-up recovery.
    NoStack,
    /// Our STACK was for a bill of another type (the one escrowed in this cycle).
    OtherType { ordered: u8 },
}

/// Whether a Bill Stacked of `bill_type` answers a STACK of ours. The STACK was sent
/// only for a type that was enabled and fit what was still due (`decide_escrow`), so the
/// same type is also within the enabled types and the limit. A power-up recovery (status
/// 12, then 81) with no STACK outstanding is the unit's own credit recovery — on a fresh
/// journal there is nothing to match — but with one outstanding it must match it too.
fn check_stacked(
    order: Option<StackOrder>,
    bill_type: u8,
    recovered: bool,
) -> Result<(), Unordered> {
    match order {
        Some(o) if o.bill_type == bill_type => Ok(()),
        Some(o) => Err(Unordered::OtherType {
            ordered: o.bill_type,
        }),
        None if recovered => Ok(()),
        None => Err(Unordered::NoStack),
    }
}

/// The driver's whole state.
pub struct Driver {
    config: DriverConfig,
    opener: Opener,
    link: Option<Link>,
    make_log: Box<dyn FnMut() -> super::framelog::FrameLog + Send>,
    controls: Receiver<Control>,
    emit: Box<dyn FnMut(Event) + Send>,
    sink: Box<dyn BillSink>,
    table: BillTable,
    /// RESET is due (start-up, power-up mid-session, back from offline).
    needs_reset: bool,
    /// IDENTIFICATION and GET BILL TABLE have been read since the last initialization.
    identified: bool,
    /// The limit of the current enable, and what has been stacked under it.
    wanted: Option<Kopecks>,
    credited: Kopecks,
    hold_for_page: bool,
    /// The mask last sent with ENABLE, and how many polls have said 19 since.
    sent_mask: [u8; 3],
    polls_since_enable: u32,
    escrow: Option<EscrowCycle>,
    /// The STACK the next Bill Stacked must answer.
    stack_order: Option<StackOrder>,
    stack_sent_at: Option<Instant>,
    stack_timed_out: bool,
    /// The 81 now being reported was already credited (it repeats until ACKed).
    credited_this_cycle: bool,
    /// 45 Cheated was seen in this bill's cycle: its 81 is not credited.
    cheated_this_cycle: bool,
    /// 12 (bill in stacker at power-up): the 81 after initialization is a recovered credit.
    recovering: bool,
    last_status: Option<Status>,
    last_state: Option<(ValidatorState, String)>,
    started: Instant,
    offline: bool,
    last_reset: Option<Instant>,
    next_poll_delay: Duration,
    shutting_down: bool,
}

impl Driver {
    pub fn new(
        config: DriverConfig,
        opener: Opener,
        make_log: Box<dyn FnMut() -> super::framelog::FrameLog + Send>,
        controls: Receiver<Control>,
        emit: Box<dyn FnMut(Event) + Send>,
        sink: Box<dyn BillSink>,
    ) -> Self {
        let poll = config.poll_interval;
        let table = sink.remembered_table().unwrap_or_default();
        let stack_order = sink
            .pending_stack()
            .map(|bill_type| StackOrder { bill_type });
        Driver {
            config,
            opener,
            link: None,
            make_log,
            controls,
            emit,
            sink,
            table,
            needs_reset: true,
            identified: false,
            wanted: None,
            credited: Kopecks::ZERO,
            hold_for_page: false,
            sent_mask: [0; 3],
            polls_since_enable: 0,
            escrow: None,
            stack_order,
            stack_sent_at: None,
            stack_timed_out: false,
            credited_this_cycle: false,
            cheated_this_cycle: false,
            recovering: false,
            last_status: None,
            last_state: None,
            started: Instant::now(),
            offline: false,
            last_reset: None,
            next_poll_delay: poll,
            shutting_down: false,
        }
    }

    /// Runs until [`Control::Shutdown`] (or until every sender is gone).
    pub fn run(mut self) {
        self.set_state(ValidatorState::Disabled, "starting");
        loop {
            if self.shutting_down {
                self.disable_on_shutdown();
                return;
            }
            if self.link.is_none() && !self.open() {
                self.wait(self.config.reopen_every);
                continue;
            }
            if let Err(e) = self.cycle() {
                self.line_lost(e);
            }
            self.wait(self.next_poll_delay);
            self.next_poll_delay = self.config.poll_interval;
        }
    }

    fn open(&mut self) -> bool {
        match (self.opener)() {
            Ok(port) => {
                tracing::info!("serial port open");
                let log = (self.make_log)();
                self.link = Some(Link::new(port, self.config.link.clone(), log));
                self.needs_reset = true;
                self.identified = false;
                self.started = Instant::now();
                true
            }
            Err(e) => {
                self.set_state(
                    ValidatorState::Fault,
                    &format!("offline: cannot open the serial port: {e}"),
                );
                false
            }
        }
    }

    fn line_lost(&mut self, e: io::Error) {
        tracing::error!(error = %e, "serial line lost; re-opening");
        self.link = None;
        self.set_state(
            ValidatorState::Fault,
            &format!("offline: serial line lost: {e}"),
        );
    }

    /// Waits up to `delay`, acting on controls as they arrive (between exchanges, so a
    /// command never overlaps a POLL: checklist 12).
    fn wait(&mut self, delay: Duration) {
        let until = Instant::now() + delay;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || self.shutting_down {
                return;
            }
            match self.controls.recv_timeout(left) {
                Ok(control) => self.on_control(control),
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => {
                    self.shutting_down = true;
                    return;
                }
            }
        }
    }

    fn on_control(&mut self, control: Control) {
        tracing::debug!(?control, "validator control");
        match control {
            Control::Enable { max_amount } => {
                self.wanted = Some(max_amount);
                self.credited = Kopecks::ZERO;
                self.hold_for_page = false;
            }
            Control::Disable => {
                self.wanted = None;
                self.hold_for_page = false;
            }
            Control::PageLost => {
                self.wanted = None;
                self.hold_for_page = true;
            }
            Control::Shutdown => {
                self.wanted = None;
                self.shutting_down = true;
            }
        }
    }

    /// What may still be stacked under the current enable.
    fn remaining(&self) -> Option<Kopecks> {
        let limit = self.wanted?;
        limit
            .checked_sub(self.credited)
            .filter(|r| !r.is_negative())
    }

    /// The mask the unit should have now: the bills not above the limit, or none once the
    /// smallest bill no longer fits (checklist 26).
    fn wanted_mask(&self) -> [u8; 3] {
        match (self.wanted, self.remaining()) {
            (Some(limit), Some(remaining)) => {
                let smallest = self
                    .table
                    .entries()
                    .iter()
                    .filter(|d| d.country == "RUS")
                    .map(|d| d.value)
                    .min();
                match smallest {
                    Some(s) if s <= remaining => self.table.mask_up_to(limit),
                    _ => [0; 3],
                }
            }
            _ => [0; 3],
        }
    }

    /// One POLL exchange and whatever it calls for.
    fn cycle(&mut self) -> Result<(), io::Error> {
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        let status = match link.request(command::POLL, &[]) {
            Ok(Reply::Data(data)) => match Status::parse(&data) {
                Some(status) => status,
                None => {
                    link.ack().map_err(into_io)?;
                    return Ok(());
                }
            },
            Ok(other) => {
                tracing::warn!(?other, "POLL answered without a status");
                return Ok(());
            }
            Err(LinkError::Io(e)) => return Err(e),
            Err(e) => {
                self.on_silence(&e)?;
                return Ok(());
            }
        };
        if self.offline {
            tracing::info!("the validator answers again; re-initializing");
            self.offline = false;
            self.needs_reset = true;
            self.identified = false;
        }
        // Act on the status first: a stacked bill is journaled before its ACK.
        let pending_bill = match self.on_status(status) {
            Ok(bill) => bill,
            Err(e) => {
                tracing::error!(error = %e, "cannot journal a stacked bill; not acknowledging it");
                self.set_state(
                    ValidatorState::Fault,
                    &format!("cannot write the bill journal: {e}"),
                );
                if let Some(link) = self.link.as_mut() {
                    link.withhold_ack();
                }
                return Ok(());
            }
        };
        if let Some(link) = self.link.as_mut() {
            link.ack().map_err(into_io)?;
        }
        if let Some(bill) = pending_bill {
            tracing::info!(event_id = %bill.event_id, amount = %bill.amount, recovered = bill.recovered, "bill stacked");
            (self.emit)(Event::Bill(bill));
        }
        self.last_status = Some(status);
        self.after_status(status)
    }

    fn on_silence(&mut self, error: &LinkError) -> Result<(), io::Error> {
        let heard = self
            .link
            .as_ref()
            .and_then(|l| l.last_heard)
            .unwrap_or(self.started);
        if heard.elapsed() < self.config.offline_after {
            tracing::debug!(%error, "POLL failed; trying again");
            return Ok(());
        }
        if !self.offline {
            tracing::error!(%error, "the validator does not answer (offline); sending RESET until it does");
            self.offline = true;
        }
        self.set_state(
            ValidatorState::Fault,
            "offline: no reply from the validator (powered off, unplugged, or not in CCNET mode)",
        );
        let due = self
            .last_reset
            .is_none_or(|at| at.elapsed() >= self.config.reset_every);
        if due {
            self.last_reset = Some(Instant::now());
            if let Some(link) = self.link.as_mut() {
                match link.request(command::RESET, &[]) {
                    Err(LinkError::Io(e)) => return Err(e),
                    Ok(Reply::Data(_)) => link.ack().map_err(into_io)?,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Bookkeeping for one status; returns a bill to credit once the status is ACKed.
    fn on_status(&mut self, status: Status) -> io::Result<Option<StackedBill>> {
        if !matches!(status, Status::Stacked(_)) {
            self.credited_this_cycle = false;
        }
        let power_up = matches!(
            status,
            Status::PowerUp | Status::PowerUpBillInValidator | Status::PowerUpBillInStacker
        );
        if self.needs_reset && !power_up && !matches!(status, Status::Stacked(_)) {
            // A RESET follows this answer: whatever the unit says now is not a state the
            // page may act on (after a re-opened line it may still say "idle").
            self.set_state(ValidatorState::Disabled, "initializing");
            return Ok(None);
        }
        match status {
            Status::PowerUp | Status::PowerUpBillInValidator | Status::PowerUpBillInStacker => {
                if !self.needs_reset {
                    tracing::warn!(status = %status.describe(), "the validator restarted; re-initializing");
                }
                if status == Status::PowerUpBillInValidator {
                    tracing::warn!("a bill was in the head at power-up: the validator returns it");
                }
                if status == Status::PowerUpBillInStacker {
                    tracing::warn!(
                        "a bill was in the stacker at power-up: expecting its recovered credit"
                    );
                    self.recovering = true;
                }
                self.needs_reset = true;
                self.identified = false;
                self.escrow = None;
                self.stack_sent_at = None;
                self.set_state(ValidatorState::Disabled, &status.describe());
            }
            Status::Initialize => {
                self.identified = false;
                self.set_state(ValidatorState::Disabled, "initializing");
            }
            Status::Stacked(bill_type) => return self.on_stacked(bill_type),
            Status::Returned(bill_type) => {
                let was_stacking = self.stack_sent_at.take().is_some();
                self.stack_order = None;
                self.escrow = None;
                self.stack_timed_out = false;
                let amount = self.value_text(bill_type);
                let why = if was_stacking {
                    "the validator returned the bill instead of stacking it"
                } else {
                    "bill returned"
                };
                tracing::info!(bill_type, "{why}");
                self.set_state(ValidatorState::Idle, &format!("{why}: {amount}"));
            }
            Status::Rejecting(reason) => {
                let detail = format!("bill rejected ({})", super::codes::reject_reason(reason));
                if self.last_status != Some(status) {
                    tracing::info!(reason = format!("{reason:#04x}"), "{detail}");
                }
                self.set_state(ValidatorState::Accepting, &detail);
            }
            Status::Cheated => {
                tracing::error!(
                    "SECURITY: the validator reports a cheating attempt; the current bill is not credited"
                );
                self.cheated_this_cycle = true;
                self.escrow = None;
                self.stack_sent_at = None;
                self.set_state(ValidatorState::Fault, "cheated: a cheating attempt");
            }
            Status::Failure(code) => {
                // Sub-codes differ between sources: log the raw byte, do not interpret it.
                if self.last_status != Some(status) {
                    tracing::error!(code = format!("{code:#04x}"), "validator failure");
                }
                self.set_state(ValidatorState::Fault, &status.describe());
            }
            s if s.is_fault() => {
                if self.last_status != Some(s) {
                    tracing::error!(status = %s.describe(), "validator fault");
                }
                if s == Status::CassetteOut {
                    // Re-insertion goes through 13 → 19: identify and enable again then.
                    self.identified = false;
                }
                self.set_state(ValidatorState::Fault, &s.describe());
            }
            Status::Pause => {
                self.set_state(
                    ValidatorState::Accepting,
                    "pause: a second bill was inserted",
                );
            }
            Status::Busy(n) => {
                self.next_poll_delay = self
                    .config
                    .poll_interval
                    .max(Duration::from_millis(100) * u32::from(n));
            }
            Status::Escrow(bill_type) => {
                let fresh = self
                    .escrow
                    .as_ref()
                    .is_none_or(|e| e.bill_type != bill_type);
                if fresh {
                    self.cheated_this_cycle = false;
                    self.stack_order = None;
                    self.escrow = Some(EscrowCycle {
                        bill_type,
                        since: Instant::now(),
                        decided: false,
                        last_hold: None,
                    });
                }
                let amount = self.value_text(bill_type);
                self.set_state(ValidatorState::Escrow, &amount);
            }
            Status::Holding => self.set_state(ValidatorState::Escrow, "holding"),
            Status::Stacking => self.set_state(ValidatorState::Stacking, "stacking"),
            Status::Returning => self.set_state(ValidatorState::Accepting, "returning the bill"),
            Status::Accepting => {
                self.cheated_this_cycle = false;
                self.stack_order = None;
                self.set_state(ValidatorState::Accepting, "accepting");
            }
            Status::Idling => {
                // No bill is on its way to the cassette: a later 81 answers no STACK.
                self.escrow = None;
                self.stack_order = None;
                self.cheated_this_cycle = false;
                self.set_state(ValidatorState::Idle, "ready for bills");
            }
            Status::UnitDisabled => {
                self.escrow = None;
                self.stack_order = None;
                if self.wanted.is_none() || self.wanted_mask() == [0; 3] {
                    self.set_state(ValidatorState::Disabled, "disabled");
                }
            }
            Status::Unknown(code) => {
                tracing::warn!(code = format!("{code:#04x}"), "unknown validator status");
            }
            _ => {}
        }
        Ok(None)
    }

    fn on_stacked(&mut self, bill_type: u8) -> io::Result<Option<StackedBill>> {
        if self.credited_this_cycle {
            // The device repeats 81 until it gets our ACK: the same bill (checklist 20).
            return Ok(None);
        }
        if self.cheated_this_cycle {
            tracing::error!(
                bill_type,
                "SECURITY: bill stacked after a cheating attempt; not credited"
            );
            self.credited_this_cycle = true;
            return Ok(None);
        }
        if let Some(event_id) = self.sink.repeated_bill() {
            // Our ACK of this 81 never reached the unit (the shell stopped between the
            // journal and the ACK, or the line lost it): the bill is already counted.
            tracing::warn!(%event_id, bill_type, "Bill Stacked repeats a journaled bill; not counted again");
            self.bill_done();
            return Ok(None);
        }
        let recovered = self.recovering;
        if let Err(why) = check_stacked(self.stack_order, bill_type, recovered) {
            self.unordered_bill(bill_type, why);
            return Ok(None);
        }
        let Some(denomination) = self.table.get(bill_type).cloned() else {
            // A bill we may credit but cannot value yet: the unit's credit recovery comes
            // right after initialization, before we may ask for its bill table. Journal it
            // (before the ACK) and value it once the table is read.
            let held = self.sink.hold(bill_type)?;
            tracing::warn!(event_id = %held.event_id, bill_type, "bill stacked before the bill table is known; held until it is read");
            self.bill_done();
            self.set_state(
                ValidatorState::Stacking,
                &format!("bill of type {bill_type} stacked; held until the bill table is read"),
            );
            return Ok(None);
        };
        let bill = self.sink.record(bill_type, denomination.value, recovered)?;
        self.bill_done();
        self.add_credit(denomination.value);
        let mut detail = format!("bill stacked: {}", rub(denomination.value));
        if recovered {
            detail.push_str(" (recovered after a power loss)");
        }
        self.set_state(ValidatorState::Stacking, &detail);
        Ok(Some(bill))
    }

    /// The bill of this cycle is dealt with (credited, held, recognised as a repeat or
    /// refused): its repeated 81s are the same bill, and it answered whatever STACK there was.
    fn bill_done(&mut self) {
        self.credited_this_cycle = true;
        self.recovering = false;
        self.stack_order = None;
        self.stack_sent_at = None;
        self.stack_timed_out = false;
        self.escrow = None;
    }

    fn add_credit(&mut self, value: Kopecks) {
        if self.wanted.is_some() {
            self.credited = self.credited.checked_add(value).unwrap_or(Kopecks::MAX);
        }
    }

    /// A Bill Stacked that answers no STACK of ours: money may be in the cassette, but
    /// not money this driver agreed to take. A security fault, never a credit.
    fn unordered_bill(&mut self, bill_type: u8, why: Unordered) {
        // The frames as they were on the line, for whoever investigates the alarm.
        let frame = |status: Status| {
            super::frame::encode(super::frame::ADDRESS_BILL_VALIDATOR, &status.to_bytes())
                .map(|bytes| super::stream::hex(&bytes))
                .unwrap_or_default()
        };
        let escrowed = self
            .escrow
            .as_ref()
            .map(|e| frame(Status::Escrow(e.bill_type)));
        let reason = match why {
            Unordered::NoStack => "with no STACK sent".to_string(),
            Unordered::OtherType { ordered } => format!(
                "after STACK of type {ordered} ({})",
                self.value_text(ordered)
            ),
        };
        tracing::error!(
            stacked = %frame(Status::Stacked(bill_type)),
            escrowed = escrowed.as_deref().unwrap_or("none"),
            ?why,
            "SECURITY: Bill Stacked that answers no STACK of ours; not credited"
        );
        self.bill_done();
        self.set_state(
            ValidatorState::Fault,
            &format!(
                "unordered bill stacked: type {bill_type} ({}) {reason}; not credited",
                self.value_text(bill_type)
            ),
        );
    }

    /// Values the bill held for the bill table, now that the table is read.
    fn release_held_bill(&mut self) {
        let Some(held) = self.sink.held() else {
            return;
        };
        let Some(value) = self.table.get(held.bill_type).map(|d| d.value) else {
            tracing::error!(event_id = %held.event_id, bill_type = held.bill_type, "a held bill's type is not in the bill table; not credited");
            self.set_state(
                ValidatorState::Fault,
                &format!(
                    "bill of unknown type {} stacked; not credited",
                    held.bill_type
                ),
            );
            return;
        };
        match self.sink.release_held(value) {
            Ok(Some(bill)) => {
                tracing::info!(event_id = %bill.event_id, amount = %bill.amount, "held bill valued; bill stacked");
                self.add_credit(value);
                self.set_state(
                    ValidatorState::Stacking,
                    &format!(
                        "bill stacked: {} (recovered after a power loss)",
                        rub(value)
                    ),
                );
                (self.emit)(Event::Bill(bill));
            }
            Ok(None) => {}
            Err(e) => {
                // Still held in the journal: valued at the next initialization.
                tracing::error!(error = %e, "cannot journal the held bill's value");
                self.set_state(
                    ValidatorState::Fault,
                    &format!("cannot write the bill journal: {e}"),
                );
            }
        }
    }

    /// The commands a status calls for, sent after its ACK.
    fn after_status(&mut self, status: Status) -> Result<(), io::Error> {
        if self.needs_reset && !matches!(status, Status::Stacked(_)) {
            self.needs_reset = false;
            self.last_reset = Some(Instant::now());
            tracing::info!("RESET");
            self.send(command::RESET, &[])?;
            return Ok(());
        }
        match status {
            Status::UnitDisabled => {
                if !self.identified {
                    self.identify()?;
                }
                let mask = self.wanted_mask();
                if mask != [0; 3] {
                    if self.sent_mask != mask {
                        self.enable(mask)?;
                    } else {
                        self.polls_since_enable += 1;
                        if self.polls_since_enable == self.config.enable_grace_polls {
                            tracing::error!(
                                "the validator ignored ENABLE BILL TYPES; trying again"
                            );
                            self.set_state(
                                ValidatorState::Disabled,
                                "unit disabled: the validator ignored the enable command",
                            );
                        }
                        if self.polls_since_enable >= self.config.enable_grace_polls * 5 {
                            self.enable(mask)?;
                        }
                    }
                } else {
                    self.sent_mask = [0; 3];
                }
            }
            Status::Idling | Status::Accepting | Status::Rejecting(_) => {
                let mask = self.wanted_mask();
                if mask != self.sent_mask {
                    self.enable(mask)?;
                }
            }
            Status::Escrow(_) | Status::Holding => {
                self.decide_escrow()?;
                self.check_stack_timeout();
            }
            Status::Stacking => self.check_stack_timeout(),
            // Disable at once when the limit is reached (checklist 26).
            Status::Stacked(_)
                if self.wanted.is_some()
                    && self.wanted_mask() == [0; 3]
                    && self.sent_mask != [0; 3] =>
            {
                self.enable([0; 3])?;
            }
            _ => {}
        }
        Ok(())
    }

    /// IDENTIFICATION and GET BILL TABLE, once per initialization (only valid in
    /// power-up, initialize, disabled and failure states; we ask at 19).
    fn identify(&mut self) -> Result<(), io::Error> {
        if let Some(Reply::Data(ident)) = self.send(command::IDENTIFICATION, &[])? {
            let text = |range: std::ops::Range<usize>| {
                ident
                    .get(range)
                    .map(|b| String::from_utf8_lossy(b).trim().to_string())
                    .unwrap_or_default()
            };
            tracing::info!(part = %text(0..15), serial = %text(15..27), "validator identified");
        }
        match self.send(command::GET_BILL_TABLE, &[])? {
            Some(Reply::Data(data)) => match BillTable::parse(&data) {
                Some(table) => {
                    let list: Vec<String> = table
                        .entries()
                        .iter()
                        .map(|d| format!("{}={} {}", d.bill_type, rub(d.value), d.country))
                        .collect();
                    tracing::info!(table = %list.join(", "), "bill table");
                    if let Err(e) = self.sink.remember_table(&table) {
                        tracing::warn!(error = %e, "cannot keep the bill table in the journal");
                    }
                    self.table = table;
                    self.identified = true;
                    self.sent_mask = [0; 3];
                    self.release_held_bill();
                }
                None => tracing::error!(len = data.len(), "bill table too short"),
            },
            other => tracing::warn!(?other, "no bill table"),
        }
        Ok(())
    }

    fn enable(&mut self, mask: [u8; 3]) -> Result<(), io::Error> {
        // The escrow mask equals the enable mask: every accepted bill waits for our decision.
        let data = [mask[0], mask[1], mask[2], mask[0], mask[1], mask[2]];
        if let Some(Reply::Ack) = self.send(command::ENABLE_BILL_TYPES, &data)? {
            tracing::info!(
                mask = format!("{:02X}{:02X}{:02X}", mask[0], mask[1], mask[2]),
                "ENABLE BILL TYPES"
            );
            self.sent_mask = mask;
            self.polls_since_enable = 0;
        }
        Ok(())
    }

    fn decide_escrow(&mut self) -> Result<(), io::Error> {
        let Some(cycle) = self.escrow.as_ref() else {
            return Ok(());
        };
        if cycle.decided {
            return Ok(());
        }
        let bill_type = cycle.bill_type;
        let value = self
            .table
            .get(bill_type)
            .filter(|d| d.country == "RUS")
            .map(|d| d.value);
        // What we want now, not what the unit was last told: a page that left and came
        // back during this bill has enabled again while the bill waited in escrow.
        let enabled_type =
            super::bill_table::mask_types(self.wanted_mask()).any(|t| t == bill_type);
        let decision = match (value, self.remaining()) {
            (Some(v), Some(room)) if enabled_type && v <= room => Decision::Stack,
            (Some(_), None) if self.hold_for_page => {
                if cycle.since.elapsed() < self.config.hold_at_most {
                    Decision::Hold
                } else {
                    Decision::Return("the page did not come back")
                }
            }
            (None, _) => Decision::Return("unknown or non-money bill type"),
            (Some(_), None) => Decision::Return("not accepting bills now"),
            (Some(_), Some(_)) if !enabled_type => Decision::Return("denomination not enabled"),
            (Some(_), Some(_)) => Decision::Return("more than the amount still due"),
        };
        match decision {
            Decision::Stack => {
                if let Err(e) = self.sink.stack_sent(bill_type) {
                    // Without the journal no bill may be taken: give it back.
                    tracing::error!(error = %e, "cannot journal STACK; returning the bill");
                    self.set_state(
                        ValidatorState::Fault,
                        &format!("cannot write the bill journal: {e}"),
                    );
                    if matches!(self.send(command::RETURN, &[])?, Some(Reply::Ack))
                        && let Some(c) = self.escrow.as_mut()
                    {
                        c.decided = true;
                    }
                    return Ok(());
                }
                self.stack_order = Some(StackOrder { bill_type });
                if matches!(self.send(command::STACK, &[])?, Some(Reply::Ack)) {
                    tracing::info!(bill_type, "STACK");
                    self.stack_sent_at = Some(Instant::now());
                    if let Some(c) = self.escrow.as_mut() {
                        c.decided = true;
                    }
                }
            }
            Decision::Return(why) => {
                if matches!(self.send(command::RETURN, &[])?, Some(Reply::Ack)) {
                    tracing::info!(bill_type, why, "RETURN");
                    if let Some(c) = self.escrow.as_mut() {
                        c.decided = true;
                    }
                    self.set_state(
                        ValidatorState::Accepting,
                        &format!("returning the bill: {why}"),
                    );
                }
            }
            Decision::Hold => {
                let due = self
                    .escrow
                    .as_ref()
                    .and_then(|c| c.last_hold)
                    .is_none_or(|at| at.elapsed() >= self.config.hold_every);
                if due {
                    self.send(command::HOLD, &[])?;
                    tracing::info!(bill_type, "HOLD: waiting for the page");
                    if let Some(c) = self.escrow.as_mut() {
                        c.last_hold = Some(Instant::now());
                    }
                }
            }
        }
        Ok(())
    }

    fn check_stack_timeout(&mut self) {
        if let Some(at) = self.stack_sent_at
            && at.elapsed() >= self.config.stack_timeout
            && !self.stack_timed_out
        {
            self.stack_timed_out = true;
            tracing::error!("no Bill Stacked 30 s after STACK; nothing credited until it comes");
            self.set_state(ValidatorState::Fault, "stacking timeout");
        }
    }

    /// Sends a command; link-level failures other than the line itself are logged and
    /// come back as `None`.
    fn send(&mut self, code: u8, data: &[u8]) -> Result<Option<Reply>, io::Error> {
        let Some(link) = self.link.as_mut() else {
            return Ok(None);
        };
        match link.command(code, data) {
            Ok(Reply::Illegal) => {
                // Not valid in the device's state (e.g. STACK after the escrow timed out).
                tracing::warn!(command = command::name(code), "ILLEGAL COMMAND");
                Ok(Some(Reply::Illegal))
            }
            Ok(reply) => Ok(Some(reply)),
            Err(LinkError::Io(e)) => Err(e),
            Err(e) => {
                tracing::warn!(command = command::name(code), error = %e, "command failed");
                Ok(None)
            }
        }
    }

    fn disable_on_shutdown(&mut self) {
        if self.link.is_some() && self.sent_mask != [0; 3] {
            match self.send(command::ENABLE_BILL_TYPES, &[0; 6]) {
                Ok(Some(Reply::Ack)) => tracing::info!("validator disabled for shutdown"),
                other => tracing::warn!(?other, "could not disable the validator at shutdown"),
            }
        }
        self.set_state(ValidatorState::Disabled, "shut down");
    }

    fn value_text(&self, bill_type: u8) -> String {
        match self.table.get(bill_type) {
            Some(d) => rub(d.value),
            None => format!("bill type {bill_type}"),
        }
    }

    fn set_state(&mut self, state: ValidatorState, detail: &str) {
        let next = (state, detail.to_string());
        if self.last_state.as_ref() != Some(&next) {
            tracing::debug!(?state, detail, "validator state");
            self.last_state = Some(next);
            (self.emit)(Event::State {
                state,
                detail: detail.to_string(),
            });
        }
    }
}

enum Decision {
    Stack,
    Return(&'static str),
    Hold,
}

fn into_io(e: LinkError) -> io::Error {
    match e {
        LinkError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// "500.00 RUB".
fn rub(value: Kopecks) -> String {
    format!("{value} RUB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bill_stacked_must_answer_our_stack() {
        let order = |bill_type| Some(StackOrder { bill_type });
        assert_eq!(check_stacked(order(2), 2, false), Ok(()));
        assert_eq!(
            check_stacked(order(2), 7, false),
            Err(Unordered::OtherType { ordered: 2 })
        );
        assert_eq!(check_stacked(None, 4, false), Err(Unordered::NoStack));
        // Credit recovery at power-up: nothing to match on a fresh journal…
        assert_eq!(check_stacked(None, 4, true), Ok(()));
        // …but an outstanding STACK must still be matched.
        assert_eq!(
            check_stacked(order(2), 7, true),
            Err(Unordered::OtherType { ordered: 2 })
        );
    }
}
