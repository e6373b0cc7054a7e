//! Every outbound HTTP client of paymesh (processing → provider, agent → processing,
//! consumer → provider, kiosk-shell → agent) is built here, so that all of them speak
//! HTTPS the same way:
//!
//! * rustls with the **ring** crypto provider (no C build beyond ring's own; see
//!   [`install_crypto_provider`]);
//! * the system's roots (read by reqwest's platform verifier, which on Linux loads the
//!   distribution's CA bundle through rustls-native-certs) **plus** the CAs of
//!   `--ca-file` ([`Trust`]) — a private network's own CA is trusted beside them, never
//!   instead of verification;
//! * answers read with a size cap while they arrive ([`read_capped`]), so a peer cannot
//!   make us buffer an unbounded body;
//! * errors described by what happened ([`describe_error`]): a certificate problem is
//!   named (`certificate not trusted: UnknownIssuer`), not hidden behind "error sending
//!   request".

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls;

/// How long a client waits for a TCP connection (and, with it, the TLS handshake's start).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer of a provider (OSMP XML or JSON) that is read; a bigger one is "no
/// answer". Real answers are a few hundred bytes; a day's `verify` list stays far below.
pub const PROVIDER_ANSWER_MAX_BYTES: usize = 1024 * 1024;

/// The largest answer of processing to the agent (the catalog is the biggest).
pub const PROCESSING_ANSWER_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Installs ring as this process's rustls crypto provider. reqwest (built with
/// `rustls-no-provider`, to keep aws-lc's C build out) takes the process default when it
/// builds *any* client, and panics without one — so every entry point calls this before
/// its first client, and [`Trust::client_builder`] calls it too. Calling it again is
/// harmless.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread installed one between the check and here: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Why `--ca-file` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read the CA file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CA file {path} holds no PEM certificate")]
    Empty { path: PathBuf },
    #[error("the CA file {path} is not valid PEM: {why}")]
    Invalid { path: PathBuf, why: String },
}

/// The certificates an outbound client trusts beyond the system's roots: the CAs of
/// `--ca-file`. Loaded once at start; cheap to clone.
#[derive(Clone, Default)]
pub struct Trust {
    extra_roots: Arc<Vec<reqwest::Certificate>>,
    /// Where they came from, for the log.
    source: Option<PathBuf>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("extra_roots", &self.extra_roots.len())
            .field("source", &self.source)
            .finish()
    }
}

/// The largest CA file read: a bundle of a few hundred certificates fits easily.
const CA_FILE_MAX_BYTES: u64 = 4 * 1024 * 1024;

impl Trust {
    /// The system's roots only.
    pub fn system() -> Trust {
        Trust::default()
    }

    /// The system's roots plus every certificate in `ca_file` (PEM), if one is given.
    pub fn load(ca_file: Option<&Path>) -> Result<Trust, TrustError> {
        let Some(path) = ca_file else {
            return Ok(Trust::system());
        };
        let read_error = |source| TrustError::Read {
            path: path.to_owned(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > CA_FILE_MAX_BYTES {
            return Err(TrustError::Invalid {
                path: path.to_owned(),
                why: format!("larger than {CA_FILE_MAX_BYTES} bytes"),
            });
        }
        let pem = std::fs::read(path).map_err(read_error)?;
        let certificates =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| TrustError::Invalid {
                path: path.to_owned(),
                why: e.to_string(),
            })?;
        if certificates.is_empty() {
            return Err(TrustError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(Trust {
            extra_roots: Arc::new(certificates),
            source: Some(path.to_owned()),
        })
    }

    /// How many certificates `--ca-file` added.
    pub fn extra_root_count(&self) -> usize {
        self.extra_roots.len()
    }

    /// A client builder that speaks HTTP and HTTPS (rustls, ring) and trusts the system's
    /// roots plus these. Callers add their own timeouts and build.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        install_crypto_provider();
        reqwest::Client::builder()
            .tls_backend_rustls()
            .tls_certs_merge(self.extra_roots.iter().cloned())
            .connect_timeout(CONNECT_TIMEOUT)
            // A participant's URLs are configured by operators; following a redirect
            // would send our credentials wherever a peer points.
            .redirect(reqwest::redirect::Policy::none())
    }

    /// [`Trust::client_builder`] with `timeout` for a whole exchange, built. Building fails
    /// only when the TLS configuration is impossible, which these settings never are; the
    /// error is still returned, never unwrapped.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
        self.client_builder().timeout(timeout).build()
    }
}

/// Why an answer was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer sent (or announced) more than the cap: treated as no answer.
    #[error("the answer is larger than {limit_bytes} bytes")]
    TooLarge { limit_bytes: usize },
    /// The connection failed or timed out while the body arrived.
    #[error("{}", describe_error(.0))]
    Transport(reqwest::Error),
}

/// Reads `response`'s body, at most `limit_bytes` of it, checking while it arrives: a
/// body announced or found bigger is refused before it is buffered.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit_bytes: usize,
) -> Result<Vec<u8>, ReadError> {
    let too_large = ReadError::TooLarge { limit_bytes };
    let announced = response.content_length().unwrap_or(0);
    if announced > limit_bytes as u64 {
        return Err(too_large);
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > limit_bytes {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// [`read_capped`], as text (invalid UTF-8 replaced).
pub async fn read_text_capped(
    response: reqwest::Response,
    limit_bytes: usize,
) -> Result<String, ReadError> {
    let body = read_capped(response, limit_bytes).await?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// A short, true sentence about why a request failed. A TLS failure is found by walking
/// the error's source chain down to rustls's error and named: `certificate not trusted:
/// UnknownIssuer`, `certificate not valid for this host: …`, `certificate expired`.
pub fn describe_error(error: &reqwest::Error) -> String {
    if let Some(tls) = tls_cause(error) {
        return describe_tls(tls);
    }
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        match innermost(error) {
            Some(cause) => format!("cannot connect: {cause}"),
            None => "cannot connect".to_owned(),
        }
    } else {
        match innermost(error) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        }
    }
}

/// The rustls error somewhere in `error`'s chain. A plain walk over `source()` misses it:
/// tokio-rustls wraps it in an `io::Error`, hyper-rustls wraps that in another, and
/// `io::Error::source` skips the error it wraps. So each `io::Error` is opened here.
fn tls_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    // Bounded: a cyclic chain cannot loop forever.
    for _ in 0..32 {
        let e = current?;
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            Some(without_auto_traits(inner))
        } else {
            e.source()
        };
    }
    None
}

fn without_auto_traits<'a>(
    e: &'a (dyn std::error::Error + Send + Sync + 'static),
) -> &'a (dyn std::error::Error + 'static) {
    e
}

/// The last error in the chain, if it is not `error` itself.
fn innermost(error: &reqwest::Error) -> Option<String> {
    let mut current = std::error::Error::source(error)?;
    while let Some(next) = current.source() {
        current = next;
    }
    Some(current.to_string())
}

fn describe_tls(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            C::UnknownIssuer => "certificate not trusted: UnknownIssuer".to_owned(),
            C::BadSignature => "certificate not trusted: BadSignature".to_owned(),
            C::Expired | C::ExpiredContext { .. } => "certificate expired".to_owned(),
            C::NotValidYet | C::NotValidYetContext { .. } => "certificate not valid yet".to_owned(),
            C::Revoked => "certificate revoked".to_owned(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("certificate not valid for this host: {certificate:?}")
            }
            other => format!("certificate refused: {other:?}"),
        },
        rustls::Error::AlertReceived(alert) => format!("TLS refused by the peer: {alert:?}"),
        other => format!("TLS failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_problems_are_named() {
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert_eq!(
            describe_tls(&unknown),
            "certificate not trusted: UnknownIssuer"
        );
        // Wrapped as tokio-rustls and the connector do, the cause is still found.
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, unknown);
        let outer = std::io::Error::other(io);
        assert_eq!(
            tls_cause(&outer),
            Some(&rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        );
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("paymesh-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        assert!(matches!(
            Trust::load(Some(&missing)),
            Err(TrustError::Read { .. })
        ));
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        assert!(matches!(
            Trust::load(Some(&empty)),
            Err(TrustError::Empty { .. } | TrustError::Invalid { .. })
        ));
        assert_eq!(Trust::load(None).unwrap().extra_root_count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
