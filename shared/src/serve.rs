//! The one serving loop of every paymesh listener, plain HTTP and HTTPS alike.
//!
//! `axum::serve` has no TLS, no header-read timeout and no connection cap, so a
//! participant on the internet could be held down by a few hundred idle sockets
//! ("slowloris"). This loop is small and has each limit in one place:
//!
//! * **connection cap** — a semaphore of [`ServeLimits::max_connections`] permits, taken
//!   *before* `accept`: past the cap, new connections wait in the kernel's backlog (and
//!   are refused by the kernel once that is full) instead of costing us a task and memory;
//! * **TLS handshake timeout** and **header-read timeout** — a client that does not
//!   finish its handshake, or the headers of its next request (an idle keep-alive
//!   connection too), within [`ServeLimits::header_read_timeout`] is disconnected, and
//!   its permit goes to the next connection;
//! * **request timeout** — a request (reading its body, and the handler) that takes longer
//!   than [`ServeLimits::request_timeout`] is answered `503 request_timeout`;
//! * **graceful shutdown** — when the shutdown future resolves the loop stops accepting,
//!   tells every connection to finish the request it is serving and close, and returns
//!   when all have;
//! * **the peer's address** — every request carries `ConnectInfo<SocketAddr>` as an
//!   extension (login throttling counts failures per client address).
//!
//! A failed TLS handshake is logged at debug level and costs nothing else.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tower::ServiceExt;

use crate::error::ErrorBody;

/// The limits of one listener. The defaults suit a participant on the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// The longest wait for a TLS handshake, and for the complete headers of a request
    /// (the first on a connection, and each next one on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// The longest a request may take once its headers are in: its body and the handler.
    pub request_timeout: Duration,
}

/// `--max-connections` default.
pub const MAX_CONNECTIONS: usize = 1024;
/// `--header-read-timeout-ms` default.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// `--request-timeout-ms` default: above processing's 60 s wait for a provider's answer,
/// which a check passes on to its caller.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
        }
    }
}

/// Counts of a listener's connections, for the operator and for tests.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: AtomicUsize,
    peak: AtomicUsize,
    accepted: AtomicUsize,
}

impl ConnectionStats {
    /// Connections being served now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
    /// The most connections ever served at once (never above the cap).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
    /// Connections accepted since the start.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn opened(&self) {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why the certificate or key of `--tls-cert/--tls-key` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("--tls-cert {path}: {why}")]
    Certificate { path: PathBuf, why: String },
    #[error("--tls-key {path}: {why}")]
    Key { path: PathBuf, why: String },
    #[error("--tls-cert and --tls-key do not fit together: {0}")]
    Mismatch(String),
    #[error("{0}")]
    Incomplete(&'static str),
}

/// A server's TLS configuration: its certificate chain and key, loaded from PEM files.
#[derive(Clone)]
pub struct TlsIdentity {
    config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsIdentity")
    }
}

impl TlsIdentity {
    /// `--tls-cert` and `--tls-key` together, or neither (plain HTTP).
    pub fn from_flags(
        cert: Option<&Path>,
        key: Option<&Path>,
    ) -> Result<Option<TlsIdentity>, TlsConfigError> {
        match (cert, key) {
            (Some(cert), Some(key)) => TlsIdentity::load(cert, key).map(Some),
            (None, None) => Ok(None),
            (Some(_), None) => Err(TlsConfigError::Incomplete(
                "--tls-cert needs --tls-key (the certificate's private key)",
            )),
            (None, Some(_)) => Err(TlsConfigError::Incomplete(
                "--tls-key needs --tls-cert (the certificate chain)",
            )),
        }
    }

    /// Reads a PEM certificate chain (leaf first) and its PEM private key.
    pub fn load(cert: &Path, key: &Path) -> Result<TlsIdentity, TlsConfigError> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| TlsConfigError::Certificate {
                path: cert.to_owned(),
                why: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsConfigError::Certificate {
                path: cert.to_owned(),
                why: "no PEM certificate in the file".into(),
            });
        }
        let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsConfigError::Key {
            path: key.to_owned(),
            why: e.to_string(),
        })?;
        crate::outbound::install_crypto_provider();
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError::Mismatch(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| TlsConfigError::Mismatch(e.to_string()))?;
        // HTTP/1.1 only: the servers speak nothing else.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            config: Arc::new(config),
        })
    }

    /// The rustls configuration, for a listener of its own (e.g. a test's).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.config.clone()
    }
}

/// Serves `router` on `listener` (HTTPS when `tls` is given) within `limits` until
/// `shutdown` resolves, then lets the requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsIdentity>,
    limits: ServeLimits,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let acceptor = tls.map(|t| TlsAcceptor::from(t.config));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        stats.opened();
        let connection = Connection {
            router: router.clone(),
            peer,
            limits,
            stop: stop_rx.clone(),
        };
        let acceptor = acceptor.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => connection.run(tls).await,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
                None => connection.run(stream).await,
            }
            stats.closed();
            drop(permit);
        });
    }
    drop(listener);
    // Every connection finishes the request it is serving, then closes; when all permits
    // are back, all connections are gone.
    let _ = stop_tx.send(true);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// One accepted connection and what it needs to serve requests.
struct Connection {
    router: Router,
    peer: SocketAddr,
    limits: ServeLimits,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run<S>(self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            router,
            peer,
            limits,
            mut stop,
        } = self;
        let request_timeout = limits.request_timeout;
        let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
            let router = router.clone();
            async move {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                match tokio::time::timeout(request_timeout, router.oneshot(request)).await {
                    Ok(Ok(response)) => Ok::<Response, Infallible>(response),
                    Ok(Err(never)) => match never {},
                    Err(_) => {
                        tracing::warn!(%peer, timeout_ms = request_timeout.as_millis() as u64, "request timed out");
                        Ok(request_timed_out(request_timeout))
                    }
                }
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true);
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        let stopping = async {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        tokio::select! {
            outcome = connection.as_mut() => {
                if let Err(e) = outcome {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            () = stopping => {}
        }
        // Shutting down: finish the request in flight, answer nothing more.
        connection.as_mut().graceful_shutdown();
        if let Err(e) = connection.await {
            tracing::debug!(%peer, error = %e, "connection ended during shutdown");
        }
    }
}

/// `503 request_timeout`: the request (its body, or its handler) took too long.
fn request_timed_out(limit: Duration) -> Response {
    let body = ErrorBody {
        error: crate::error::ErrorDetail {
            code: "request_timeout".into(),
            message: format!(
                "The request took longer than {} ms and was abandoned",
                limit.as_millis()
            ),
            fields: None,
        },
        result: None,
        fatal: None,
    };
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves `router` on a free port; (address, stop, the serving task).
    async fn start(
        router: Router,
        limits: ServeLimits,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            router,
            None,
            limits,
            Arc::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        (addr, stop, task)
    }

    /// One HTTP/1.1 request on its own connection; the whole answer as text.
    async fn request(addr: SocketAddr, path: &str) -> String {
        // A bound for a failing server, not a timing assertion.
        tokio::time::timeout(Duration::from_secs(20), request_unbounded(addr, path))
            .await
            .expect("an answer")
    }

    async fn request_unbounded(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn every_request_carries_the_peer_address() {
        let router = Router::new().route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        );
        let (addr, _stop, _task) = start(router, ServeLimits::default()).await;
        let answer = request(addr, "/peer").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("127.0.0.1"), "{answer}");
    }

    #[tokio::test]
    async fn a_request_over_its_time_is_answered_503_request_timeout() {
        let router = Router::new().route(
            "/slow",
            get(|| async {
                // Never finishes on its own: only the request timeout ends it.
                std::future::pending::<()>().await;
            }),
        );
        let limits = ServeLimits {
            request_timeout: Duration::from_millis(200),
            ..ServeLimits::default()
        };
        let (addr, _stop, _task) = start(router, limits).await;
        let answer = request(addr, "/slow").await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    }

    #[tokio::test]
    async fn silent_and_idle_connections_are_closed_after_the_header_timeout() {
        let router = Router::new().route("/", get(|| async { "ok" }));
        let limits = ServeLimits {
            header_read_timeout: Duration::from_millis(300),
            ..ServeLimits::default()
        };
        let (addr, _stop, _task) = start(router, limits).await;
        // Bounds for a failing server, not timing assertions.
        let closed = |mut stream: tokio::net::TcpStream| async move {
            let mut rest = Vec::new();
            tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut rest))
                .await
                .map(|_| rest)
        };
        // Connected, never a byte sent.
        let silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(
            closed(silent).await.is_ok(),
            "a silent connection is closed"
        );
        // One request served, then idle on a kept-alive connection.
        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        let answer = closed(idle).await.expect("an idle connection is closed");
        assert!(
            String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
            "its request was answered first"
        );
    }

    #[tokio::test]
    async fn shutdown_finishes_the_request_in_flight() {
        let release = Arc::new(tokio::sync::Notify::new());
        let entered = Arc::new(tokio::sync::Notify::new());
        let router = Router::new().route(
            "/work",
            get({
                let (release, entered) = (release.clone(), entered.clone());
                move || async move {
                    entered.notify_one();
                    release.notified().await;
                    "done"
                }
            }),
        );
        let (addr, stop, task) = start(router, ServeLimits::default()).await;
        let in_flight = tokio::spawn(request(addr, "/work"));
        entered.notified().await;
        stop.send(()).unwrap();
        // The loop stops accepting but waits for the request it is serving.
        release.notify_one();
        let answer = in_flight.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("done"), "{answer}");
        task.await.unwrap().unwrap();
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "the listener is closed"
        );
    }
}
