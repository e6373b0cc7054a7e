//! The credential proxy's side of an `https://` portal: rustls (ring), trusting the
//! system's roots plus the certificates of `--ca-file`, the portal's host name checked
//! against its certificate. The proxy itself stays plain HTTP on 127.0.0.1 — Chromium
//! reaches it there — so the only TLS hop is the one that leaves the machine.
//!
//! Blocking streams on the proxy's own threads, like the plain-HTTP path: one request per
//! upstream connection, so a whole request goes up and the answer comes back until the
//! portal closes.

use std::io;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// How to open TLS to one portal.
pub(crate) struct UpstreamTls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

/// A TLS connection to the portal.
pub(crate) type TlsStream = StreamOwned<ClientConnection, TcpStream>;

impl UpstreamTls {
    /// Trusts the system's roots plus every certificate in `ca_file` (PEM), for `host`.
    pub(crate) fn new(host: &str, ca_file: Option<&Path>) -> anyhow::Result<UpstreamTls> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::debug!(error = %error, "a system root certificate was not loaded");
        }
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        let mut extra = 0;
        if let Some(path) = ca_file {
            for certificate in CertificateDer::pem_file_iter(path)
                .with_context(|| format!("cannot read --ca-file {}", path.display()))?
            {
                let certificate = certificate
                    .with_context(|| format!("--ca-file {} is not valid PEM", path.display()))?;
                roots
                    .add(certificate)
                    .with_context(|| format!("a certificate of {} is unusable", path.display()))?;
                extra += 1;
            }
            anyhow::ensure!(
                extra > 0,
                "--ca-file {} holds no certificate",
                path.display()
            );
        }
        anyhow::ensure!(
            !roots.is_empty(),
            "no certificate to trust the portal with: no system roots and no --ca-file"
        );
        // An IPv6 literal comes with its brackets from the URL; a server name has none.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(bare.to_owned())
            .with_context(|| format!("{host} is not a host name TLS can check"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("the TLS protocol versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tracing::info!(
            system_roots = added,
            ca_file_roots = extra,
            "credential proxy: the portal is reached over TLS"
        );
        Ok(UpstreamTls {
            config: Arc::new(config),
            server_name,
        })
    }

    /// Opens TLS on a connected socket; the handshake completes, and the certificate is
    /// checked, before this returns.
    pub(crate) fn wrap(&self, tcp: TcpStream) -> io::Result<TlsStream> {
        let connection = ClientConnection::new(self.config.clone(), self.server_name.clone())
            .map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(stream)
    }
}
