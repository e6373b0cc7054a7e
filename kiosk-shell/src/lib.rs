//! # kiosk-shell — the payment terminal's body
//!
//! * [`ccnet`] — the CCNET bill-validator protocol: framing and CRC today; the host
//!   driver, the device simulator, the bridge and the window come with their issue.

pub mod ccnet;
