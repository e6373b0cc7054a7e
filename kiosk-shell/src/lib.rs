//! # kiosk-shell — the payment terminal's body
//!
//! * [`ccnet`] — the CCNET bill-validator protocol: framing, the host driver, the device
//!   simulator and its script language.
//! * [`journal`] — the durable journal of stacked bills.
//! * [`bridge`] — the WebSocket between the shell and the kiosk page.
//! * [`bridge_guard`] — who may use it: the per-start token and the page's exact origin.
//! * [`reporter`] — the bills and the validator's state to the agent, with the shell's own
//!   terminal credential (the only way cash reaches the agent), and the enable limit.
//! * [`terminal`] — driver, journal and bridge put together.
//! * [`window`] — the kiosk window (wry webview or Chromium) and the ordinary portal window.

pub mod bridge;
pub mod bridge_guard;
pub mod ccnet;
pub mod journal;
pub mod reporter;
pub mod terminal;
pub mod window;
