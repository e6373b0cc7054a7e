//! Who may use the kiosk bridge (wire.md "Kiosk bridge"; issue #13).
//!
//! The bridge switches the bill validator on and acknowledges bills, so it must not take
//! commands from whatever else runs on the machine: another site open in a browser, a
//! page that rebinds its DNS name to 127.0.0.1, a local program. Two things let a
//! WebSocket in, both checked before the handshake completes:
//!
//! * **the token** — a secret made from the kernel's random source at every start,
//!   written only into the bridge URL that kiosk-shell hands to the page it opens (and
//!   into `JOURNAL/bridge-url`, mode 0600, for the technician and the tests). It is
//!   compared in constant time and never logged.
//! * **the Origin** — exactly the origin of that page: the portal's, or the `--chromium`
//!   credential proxy's when Chromium reaches the portal through it. A connection
//!   without an `Origin` (not a browser) or with any other is refused, loopback ones
//!   included.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

/// The file in the journal directory that holds the bridge URL with its token.
pub const URL_FILE: &str = "bridge-url";
/// Random bytes in a token (256 bits), written as hex.
const TOKEN_BYTES: usize = 32;

/// Why a request to the bridge is turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no token")]
    NoToken,
    #[error("wrong token")]
    WrongToken,
    #[error("no Origin header")]
    NoOrigin,
    #[error("Origin is not the kiosk page's")]
    ForeignOrigin,
    #[error("no page origin is configured (no --portal)")]
    NoPageOrigin,
}

/// The bridge's secret and the one origin its pages have.
pub struct BridgeGuard {
    token: String,
    page_origin: Option<String>,
}

impl std::fmt::Debug for BridgeGuard {
    // The token must not reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeGuard")
            .field("page_origin", &self.page_origin)
            .finish_non_exhaustive()
    }
}

impl BridgeGuard {
    /// A fresh token; `page_origin` as browsers write it (`http://127.0.0.1:8404`), or
    /// `None` when no page is expected (then no WebSocket is let in at all).
    pub fn new(page_origin: Option<String>) -> io::Result<BridgeGuard> {
        let mut bytes = [0u8; TOKEN_BYTES];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(BridgeGuard {
            token: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            page_origin,
        })
    }

    /// `ws://ADDR/ccnet?token=T`: what the page is given.
    pub fn url(&self, addr: SocketAddr) -> String {
        format!("ws://{addr}/ccnet?token={}", self.token)
    }

    /// The bridge WebSocket: the token and exactly the page's origin.
    pub fn admit_page(&self, query: Option<&str>, headers: &HeaderMap) -> Result<(), Refusal> {
        self.admit_token(query)?;
        let allowed = self.page_origin.as_deref().ok_or(Refusal::NoPageOrigin)?;
        let origin = headers.get(header::ORIGIN).ok_or(Refusal::NoOrigin)?;
        // Byte for byte: browsers write an origin one way (lower-case scheme and host,
        // no default port), and anything else is not the page we opened.
        if origin.as_bytes() == allowed.as_bytes() {
            Ok(())
        } else {
            Err(Refusal::ForeignOrigin)
        }
    }

    /// The token alone: for the simulator's script input, which `curl` uses.
    pub fn admit_token(&self, query: Option<&str>) -> Result<(), Refusal> {
        let given = query
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .ok_or(Refusal::NoToken)?;
        if bool::from(given.as_bytes().ct_eq(self.token.as_bytes())) {
            Ok(())
        } else {
            Err(Refusal::WrongToken)
        }
    }
}

/// Writes the bridge URL to `dir/bridge-url`, readable by this user only, replacing the
/// last start's file in one step (a reader sees the old URL or the new, never half).
pub fn write_url_file(dir: &Path, url: &str) -> io::Result<PathBuf> {
    let path = dir.join(URL_FILE);
    let tmp = dir.join(format!("{URL_FILE}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(url.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn tokens_differ_per_start_and_stay_out_of_debug_output() {
        let a = BridgeGuard::new(None).unwrap();
        let b = BridgeGuard::new(None).unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 2 * TOKEN_BYTES);
        assert!(!format!("{a:?}").contains(&a.token));
    }

    #[test]
    fn only_the_token_and_the_exact_origin_pass() {
        let guard = BridgeGuard::new(Some("http://127.0.0.1:8404".into())).unwrap();
        let ok = format!("token={}", guard.token);
        let page = headers(Some("http://127.0.0.1:8404"));
        assert_eq!(guard.admit_page(Some(&ok), &page), Ok(()));
        assert_eq!(guard.admit_page(Some(&format!("x=1&{ok}")), &page), Ok(()));
        assert_eq!(guard.admit_page(None, &page), Err(Refusal::NoToken));
        assert_eq!(
            guard.admit_page(Some("token="), &page),
            Err(Refusal::WrongToken)
        );
        let almost = &guard.token[..guard.token.len() - 1];
        assert_eq!(
            guard.admit_page(Some(&format!("token={almost}")), &page),
            Err(Refusal::WrongToken)
        );
        assert_eq!(
            guard.admit_page(Some(&ok), &headers(None)),
            Err(Refusal::NoOrigin)
        );
        for foreign in [
            "http://127.0.0.1:8405",
            "http://localhost:8404",
            "https://127.0.0.1:8404",
            "http://127.0.0.1:8404.evil.example",
            "null",
        ] {
            assert_eq!(
                guard.admit_page(Some(&ok), &headers(Some(foreign))),
                Err(Refusal::ForeignOrigin),
                "{foreign}"
            );
        }
        let nobody = BridgeGuard::new(None).unwrap();
        let ok = format!("token={}", nobody.token);
        assert_eq!(
            nobody.admit_page(Some(&ok), &page),
            Err(Refusal::NoPageOrigin)
        );
    }

    #[test]
    fn the_url_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(URL_FILE), "old").unwrap();
        let path = write_url_file(dir.path(), "ws://127.0.0.1:1/ccnet?token=t").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "ws://127.0.0.1:1/ccnet?token=t\n"
        );
    }
}
