//! A CashCode bill validator in software (`kiosk-shell ccnet-sim`, and the shell's
//! `--simulator`): the device side of ccnet.md on a serial line or PTY, scriptable so
//! that tests and the demo can insert bills, jam the unit, pull the cassette, cut the
//! power with a bill in the stacker, corrupt a CRC or fall silent.
//!
//! It answers whatever a host sends, the way a device must: a bad CRC gets NAK, a
//! command not valid in the state gets ILLEGAL COMMAND, a status repeats until the host
//! ACKs it. It tolerates hosts that skip ACKs or ignore t-free (the `cashcode` crate).

use std::io::{self, Read, Write};
use std::sync::mpsc::Receiver;
use std::thread;
use std::time::{Duration, Instant};

use super::bill_table::{BillTable, mask_types};
use super::codes::{ACK, ILLEGAL_COMMAND, NAK, Status, command};
use super::frame::{self, ADDRESS_BILL_VALIDATOR};
use super::port::{self, Port};
use super::script::Action;
use super::stream::{FrameReader, Item};

/// The escrow time-out of a real unit: a bill nobody decides about goes back.
pub const ESCROW_TIMEOUT: Duration = Duration::from_secs(10);
/// Polls an initialization, a transport step or a rejection lasts.
const STEP_POLLS: u8 = 2;

/// Where a bill was when the power went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillAtPowerLoss {
    None,
    /// In the head: RESET returns it (status 11).
    Head,
    /// Past the point of return (status 12): credited after initialization as 81.
    Stacker(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    PowerUp(BillAtPowerLoss),
    Initializing {
        polls: u8,
        recovered: Option<u8>,
    },
    Disabled,
    Idle,
    Accepting {
        bill: u8,
        polls: u8,
    },
    Escrow {
        bill: u8,
        deadline: Instant,
    },
    Stacking {
        bill: u8,
        polls: u8,
    },
    /// 81 until the host ACKs it.
    Stacked {
        bill: u8,
    },
    Returning {
        bill: u8,
        polls: u8,
    },
    Returned {
        bill: u8,
    },
    Rejecting {
        reason: u8,
        polls: u8,
    },
    /// A fault that lasts until cleared by the script.
    Fault(Status),
    /// A status shown for a few polls (Cheated, Pause), then idle.
    Passing {
        status: Status,
        polls: u8,
    },
}

/// The simulated unit.
pub struct Device {
    state: State,
    table: BillTable,
    mask: [u8; 3],
    part_number: String,
    serial_number: String,
    /// The last data reply still waits for its ACK.
    awaiting_ack: bool,
    /// The status the last POLL reported. An ACK retires that status, not the state the
    /// unit stepped into while reporting it: the ACK of the last 17 Stacking must not
    /// swallow the 81 that follows it.
    last_reported: Option<Status>,
    corrupt_next: bool,
    silent_until: Option<Instant>,
    busy_until: Option<Instant>,
    busy_tenths: u8,
    ignore_enable: bool,
    last_escrow_bill: Option<u8>,
    /// `stack-as T`: the type the next stacked bill is reported as.
    stack_as: Option<u8>,
    /// Bills the unit has stacked, for tests and the operator.
    pub stacked_count: u32,
}

impl Device {
    pub fn new(table: BillTable) -> Self {
        Device {
            state: State::PowerUp(BillAtPowerLoss::None),
            table,
            mask: [0; 3],
            part_number: "SM-RU1353".into(),
            serial_number: "00K038AS3419".into(),
            awaiting_ack: false,
            last_reported: None,
            corrupt_next: false,
            silent_until: None,
            busy_until: None,
            busy_tenths: 0,
            ignore_enable: false,
            last_escrow_bill: None,
            stack_as: None,
            stacked_count: 0,
        }
    }

    fn enabled(&self, bill: u8) -> bool {
        mask_types(self.mask).any(|t| t == bill)
    }

    fn ready_state(&self) -> State {
        if self.mask == [0; 3] {
            State::Disabled
        } else {
            State::Idle
        }
    }

    /// Applies one script action.
    pub fn act(&mut self, action: &Action) {
        tracing::info!(target: "ccnet::sim", ?action, "simulator");
        match action {
            Action::Insert(bill) => self.insert(*bill),
            Action::InsertValue(value) => match self.table.type_of(*value) {
                Some(bill) => self.insert(bill),
                None => tracing::warn!(target: "ccnet::sim", %value, "no bill type of that value"),
            },
            Action::Reject(reason) => {
                if self.state == State::Idle {
                    self.state = State::Rejecting {
                        reason: *reason,
                        polls: STEP_POLLS,
                    };
                }
            }
            Action::Jam => self.state = State::Fault(Status::ValidatorJammed),
            Action::CassetteJam => self.state = State::Fault(Status::CassetteJammed),
            Action::CassetteFull => self.state = State::Fault(Status::CassetteFull),
            Action::Failure(code) => self.state = State::Fault(Status::Failure(*code)),
            Action::CassetteOut => self.state = State::Fault(Status::CassetteOut),
            Action::CassetteIn | Action::Clear => {
                if matches!(self.state, State::Fault(_)) {
                    // Back in position: the unit initializes and waits to be enabled again.
                    if matches!(action, Action::CassetteIn) {
                        self.mask = [0; 3];
                    }
                    self.state = State::Initializing {
                        polls: STEP_POLLS,
                        recovered: None,
                    };
                }
            }
            Action::Cheat => {
                self.state = State::Passing {
                    status: Status::Cheated,
                    polls: STEP_POLLS,
                }
            }
            Action::Pause => {
                self.state = State::Passing {
                    status: Status::Pause,
                    polls: STEP_POLLS,
                }
            }
            Action::PowerCycle(at) => {
                let at = match (at, &self.state) {
                    (BillAtPowerLoss::Stacker(_), State::Stacking { bill, .. })
                    | (BillAtPowerLoss::Stacker(_), State::Escrow { bill, .. }) => {
                        BillAtPowerLoss::Stacker(*bill)
                    }
                    (other, _) => *other,
                };
                self.mask = [0; 3];
                self.awaiting_ack = false;
                self.state = State::PowerUp(at);
            }
            Action::StackAs(bill) => self.stack_as = Some(*bill),
            Action::Stacked(bill) => {
                self.stacked_count += 1;
                self.state = State::Stacked { bill: *bill };
            }
            Action::CorruptCrc => self.corrupt_next = true,
            Action::Busy(tenths) => {
                self.busy_tenths = *tenths;
                self.busy_until =
                    Some(Instant::now() + Duration::from_millis(100) * u32::from(*tenths));
            }
            Action::Silent(duration) => self.silent_until = Some(Instant::now() + *duration),
            Action::Table(table) => self.table = table.clone(),
            Action::IgnoreEnable(on) => self.ignore_enable = *on,
            Action::Wait(_) => {}
        }
    }

    fn insert(&mut self, bill: u8) {
        if self.state != State::Idle {
            tracing::info!(target: "ccnet::sim", state = ?self.state, "the unit does not take the bill now");
            return;
        }
        self.state = if self.enabled(bill) {
            State::Accepting {
                bill,
                polls: STEP_POLLS,
            }
        } else {
            State::Rejecting {
                reason: 0x68,
                polls: STEP_POLLS,
            }
        };
    }

    /// The answer to one host frame (`None`: stay silent).
    pub fn answer(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        if self.silent_until.is_some_and(|t| Instant::now() < t) {
            return None;
        }
        let (&code, data) = payload.split_first()?;
        if code == ACK {
            self.acknowledged();
            return None;
        }
        if code == NAK {
            // The host could not read our answer: the next POLL repeats the status.
            self.awaiting_ack = false;
            return None;
        }
        // A command instead of the ACK we wait for counts as a NAK (hosts skip ACKs).
        self.awaiting_ack = false;
        self.last_reported = None;
        let reply = match code {
            command::POLL => return Some(self.poll()),
            command::RESET => {
                let recovered = match self.state {
                    State::PowerUp(BillAtPowerLoss::Stacker(bill)) => Some(bill),
                    _ => None,
                };
                self.mask = [0; 3];
                self.state = State::Initializing {
                    polls: STEP_POLLS,
                    recovered,
                };
                vec![ACK]
            }
            command::GET_STATUS => {
                let mut d = self.mask.to_vec();
                d.extend_from_slice(&[0, 0, 0]);
                self.awaiting_ack = true;
                d
            }
            command::SET_SECURITY => vec![ACK],
            command::ENABLE_BILL_TYPES if data.len() >= 3 => {
                if !self.ignore_enable {
                    self.mask = [data[0], data[1], data[2]];
                    if matches!(self.state, State::Disabled | State::Idle) {
                        self.state = self.ready_state();
                    }
                }
                vec![ACK]
            }
            command::STACK => match self.state {
                State::Escrow { bill, .. } => {
                    self.state = State::Stacking {
                        bill,
                        polls: STEP_POLLS,
                    };
                    vec![ACK]
                }
                _ => vec![ILLEGAL_COMMAND],
            },
            command::RETURN => match self.state {
                State::Escrow { bill, .. } => {
                    self.state = State::Returning {
                        bill,
                        polls: STEP_POLLS,
                    };
                    vec![ACK]
                }
                _ => vec![ILLEGAL_COMMAND],
            },
            command::HOLD => match &mut self.state {
                State::Escrow { deadline, .. } => {
                    *deadline = Instant::now() + ESCROW_TIMEOUT;
                    vec![ACK]
                }
                _ => vec![ILLEGAL_COMMAND],
            },
            command::IDENTIFICATION if self.may_identify() => {
                let mut d = Vec::with_capacity(34);
                d.extend(fixed_ascii(&self.part_number, 15));
                d.extend(fixed_ascii(&self.serial_number, 12));
                d.extend_from_slice(&[0; 7]);
                self.awaiting_ack = true;
                d
            }
            command::GET_BILL_TABLE if self.may_identify() => {
                self.awaiting_ack = true;
                self.table.to_bytes()
            }
            _ => vec![ILLEGAL_COMMAND],
        };
        Some(reply)
    }

    fn may_identify(&self) -> bool {
        matches!(
            self.state,
            State::PowerUp(_)
                | State::Initializing { .. }
                | State::Disabled
                | State::Fault(Status::Failure(_))
        )
    }

    /// The host ACKed our last data reply: statuses that wait for it move on.
    fn acknowledged(&mut self) {
        let reported = self.last_reported.take();
        if !std::mem::take(&mut self.awaiting_ack) {
            return;
        }
        match (&self.state, reported) {
            (State::Stacked { .. }, Some(Status::Stacked(_)))
            | (State::Returned { .. }, Some(Status::Returned(_))) => {
                self.state = self.ready_state()
            }
            _ => {}
        }
    }

    fn poll(&mut self) -> Vec<u8> {
        self.awaiting_ack = true;
        if let Some(until) = self.busy_until {
            if Instant::now() < until {
                return Status::Busy(self.busy_tenths).to_bytes();
            }
            self.busy_until = None;
        }
        let status = self.status_and_step();
        self.last_reported = Some(status);
        status.to_bytes()
    }

    /// The status for this POLL, advancing the transport one step.
    fn status_and_step(&mut self) -> Status {
        let ready = self.ready_state();
        let (status, next) = match self.state.clone() {
            State::PowerUp(BillAtPowerLoss::None) => (Status::PowerUp, None),
            State::PowerUp(BillAtPowerLoss::Head) => (Status::PowerUpBillInValidator, None),
            State::PowerUp(BillAtPowerLoss::Stacker(_)) => (Status::PowerUpBillInStacker, None),
            State::Initializing { polls, recovered } => {
                let next = if polls > 1 {
                    State::Initializing {
                        polls: polls - 1,
                        recovered,
                    }
                } else if let Some(bill) = recovered {
                    // Credit recovery: 81 at once after initialization (ccnet.md §1.5).
                    self.stacked_count += 1;
                    State::Stacked { bill }
                } else {
                    State::Disabled
                };
                (Status::Initialize, Some(next))
            }
            State::Disabled => (Status::UnitDisabled, None),
            State::Idle => (Status::Idling, None),
            State::Accepting { bill, polls } => {
                let next = if polls > 1 {
                    State::Accepting {
                        bill,
                        polls: polls - 1,
                    }
                } else {
                    self.last_escrow_bill = Some(bill);
                    State::Escrow {
                        bill,
                        deadline: Instant::now() + ESCROW_TIMEOUT,
                    }
                };
                (Status::Accepting, Some(next))
            }
            State::Escrow { bill, deadline } => {
                if Instant::now() >= deadline {
                    tracing::info!(target: "ccnet::sim", bill, "escrow timed out: returning the bill");
                    (
                        Status::Returning,
                        Some(State::Returning {
                            bill,
                            polls: STEP_POLLS,
                        }),
                    )
                } else {
                    (Status::Escrow(bill), None)
                }
            }
            State::Stacking { bill, polls } => {
                let next = if polls > 1 {
                    State::Stacking {
                        bill,
                        polls: polls - 1,
                    }
                } else {
                    self.stacked_count += 1;
                    State::Stacked {
                        bill: self.stack_as.take().unwrap_or(bill),
                    }
                };
                (Status::Stacking, Some(next))
            }
            State::Stacked { bill } => (Status::Stacked(bill), None),
            State::Returning { bill, polls } => {
                let next = if polls > 1 {
                    State::Returning {
                        bill,
                        polls: polls - 1,
                    }
                } else {
                    State::Returned { bill }
                };
                (Status::Returning, Some(next))
            }
            State::Returned { bill } => (Status::Returned(bill), None),
            State::Rejecting { reason, polls } => {
                let next = if polls > 1 {
                    State::Rejecting {
                        reason,
                        polls: polls - 1,
                    }
                } else {
                    ready.clone()
                };
                (Status::Rejecting(reason), Some(next))
            }
            State::Fault(status) => (status, None),
            State::Passing { status, polls } => {
                let next = if polls > 1 {
                    State::Passing {
                        status,
                        polls: polls - 1,
                    }
                } else {
                    ready.clone()
                };
                (status, Some(next))
            }
        };
        if let Some(next) = next {
            self.state = next;
        }
        status
    }

    /// Encodes a reply frame, spoiling its CRC once if the script asked.
    pub fn frame(&mut self, reply: &[u8]) -> Vec<u8> {
        let mut bytes = frame::encode(ADDRESS_BILL_VALIDATOR, reply).unwrap_or_default();
        if std::mem::take(&mut self.corrupt_next)
            && let Some(last) = bytes.last_mut()
        {
            *last ^= 0x5A;
        }
        bytes
    }
}

fn fixed_ascii(text: &str, len: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = text.bytes().take(len).collect();
    bytes.resize(len, b' ');
    bytes
}

/// Runs the device on `port` until the port fails. The device outlives the line: a
/// real unit keeps its state when the cable is pulled.
pub fn serve(
    mut port: Box<dyn Port>,
    device: &mut Device,
    actions: &Receiver<Action>,
) -> io::Result<()> {
    let mut reader = FrameReader::new();
    let mut chunk = [0u8; 256];
    loop {
        while let Ok(action) = actions.try_recv() {
            device.act(&action);
        }
        match port.read(&mut chunk) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the host end hung up",
                ));
            }
            Ok(n) => reader.push(&chunk[..n]),
            Err(e) if port::is_timeout(&e) => continue,
            Err(e) => return Err(e),
        }
        while let Some(item) = reader.next_item() {
            let reply = match item {
                Item::Frame(frame, _) if frame.address == ADDRESS_BILL_VALIDATOR => {
                    device.answer(&frame.payload)
                }
                Item::Frame(..) | Item::Garbage(_) => None,
                Item::BadCrc(_) => Some(vec![NAK]),
            };
            if let Some(reply) = reply {
                let bytes = device.frame(&reply);
                port.write_all(&bytes)?;
                port.flush()?;
            }
        }
    }
}

/// Feeds actions to the device, sleeping on `wait`s, from any source of lines.
pub fn play(actions: Vec<Action>, to: &std::sync::mpsc::Sender<Action>) {
    for action in actions {
        if let Action::Wait(d) = action {
            thread::sleep(d);
        } else if to.send(action).is_err() {
            return;
        }
    }
}
