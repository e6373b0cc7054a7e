//! The shell's own full-window notice, shown instead of a page that cannot be had (the
//! portal unreachable, the kiosk's password refused): by the built-in window and by the
//! Chromium kiosk alike, so a customer sees the same words whichever engine runs.

use std::time::Duration;

/// A full-window notice: plain words for the public (in the kiosk's languages), the
/// technical cause small, for the engineer.
pub(crate) fn html(kiosk: bool, detail: &str, delay: Duration) -> String {
    let (title, subtitle) = if kiosk {
        (
            "Терминал временно не работает",
            "Terminal temporarily out of service",
        )
    } else {
        ("Портал недоступен", "The portal cannot be reached")
    };
    let detail = detail
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let seconds = delay.as_secs();
    format!(
        r#"<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="margin:0;height:100vh;display:flex;align-items:center;justify-content:center;background:#eef2fa;color:#1b2540;font-family:sans-serif;text-align:center">
<div><h1 style="font-size:48px;margin:0 0 16px">{title}</h1><p style="font-size:28px;margin:0 0 48px">{subtitle}</p>
<p style="font-size:14px;color:#6b7590">{detail} — retrying every {seconds} s</p></div></body></html>"#
    )
}
