//! The CCNET (CashCode NET) bill-validator protocol, ../shared/spec/ccnet.md.
//!
//! * [`frame`], [`stream`] — framing, CRC, SYNC hunting;
//! * [`link`] — the host's link layer (ACK/NAK, retries, t-free);
//! * [`driver`] — the host state machine: init, enable, escrow, exactly-once credit;
//! * [`sim`], [`script`] — the device simulator and its script language;
//! * [`port`], [`framelog`] — the serial line and the hex frame log.

pub mod bill_table;
pub mod codes;
pub mod driver;
pub mod frame;
pub mod framelog;
pub mod link;
pub mod port;
pub mod script;
pub mod sim;
pub mod stream;
