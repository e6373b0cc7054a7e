//! # kiosk-shell — the payment terminal's body
//!
//! * [`ccnet`] — the CCNET bill-validator protocol: framing, the host driver, the device
//!   simulator.
//! * [`window`] — the kiosk window (wry webview or Chromium) and the ordinary portal window.

pub mod ccnet;
pub mod window;
