//! A reverse proxy on 127.0.0.1 that adds the portal's Basic credentials to every
//! request, so Chromium opens the portal without a login prompt.
//!
//! Why a proxy: Chromium has no switch to hand it credentials, a URL with
//! `user:password@` in it makes the page unable to `fetch()` relative URLs (Leptos server
//! functions, the wasm bundle — hydration fails), and a policy or an extension would have
//! to be installed system-wide. Chromium opens `http://127.0.0.1:PROXY/…` instead and
//! every request arrives at the portal with `Authorization: Basic …`.
//!
//! One request per upstream connection: the proxy sends `Connection: close` upstream and
//! then copies bytes both ways until either side closes, so it never has to find where
//! one request or response ends. Requests that upgrade (WebSocket) keep their
//! `Connection: Upgrade` and become a plain byte tunnel after the `101`. The `Host`
//! header is passed through unchanged: the portal's same-origin check compares `Origin`
//! with `Host`, and both name the proxy.
//!
//! An `https://` portal is reached over TLS (`upstream_tls`: the system's roots plus
//! `--ca-file`); then a whole request goes up — its body by `Content-Length` — and the
//! answer comes back until the portal closes. Upgrades are not forwarded to an https
//! portal: nothing it serves needs one (the bridge is reached directly, not through here).
//!
//! Only requests for the proxy itself are answered: their `Host` must be
//! `127.0.0.1:PORT` or `localhost:PORT` with the proxy's own port. Anything else gets
//! `421 Misdirected Request` and a log line, and never reaches the portal: a web page
//! whose DNS name was rebound to 127.0.0.1 sends its own name as `Host`, and must not
//! get the kiosk's credentials added to its requests.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::Context;
use base64::Engine;

use super::Credentials;
use super::origin::Origin;
use super::upstream_tls::UpstreamTls;

/// Longest request head accepted (request line and headers).
const HEAD_BYTES_MAX: usize = 64 * 1024;
/// Connections served at once; Chromium opens about six per origin.
const CONNECTIONS_MAX: usize = 64;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the portal may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no bytes either way for this long is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest request body forwarded to an https portal (it takes 256 KiB at most anyway).
const TLS_REQUEST_BODY_MAX: usize = 1024 * 1024;

/// A running proxy; stops when dropped.
pub struct AuthProxy {
    addr: SocketAddr,
    upstream: Origin,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl AuthProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream` with the
    /// credentials added; an `https://` upstream over TLS, trusting the system's roots
    /// plus `ca_file`.
    pub(crate) fn start(
        upstream: &Origin,
        credentials: &Credentials,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<AuthProxy> {
        let tls = match upstream.scheme.as_str() {
            "https" => Some(Arc::new(UpstreamTls::new(&upstream.host, ca_file)?)),
            _ => None,
        };
        let listener =
            TcpListener::bind("127.0.0.1:0").context("cannot listen for the credential proxy")?;
        let addr = listener.local_addr().context("the proxy's own address")?;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", credentials.login, credentials.password));
        let authorization = Arc::new(format!("Authorization: Basic {token}\r\n").into_bytes());
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = thread::Builder::new()
            .name("auth-proxy".into())
            .spawn({
                let stop = stop.clone();
                let upstream = Upstream {
                    authority: upstream.authority(),
                    tls,
                };
                let port = addr.port();
                move || accept_loop(listener, &stop, &upstream, port, &authorization)
            })
            .context("cannot start the credential proxy's thread")?;
        tracing::info!(proxy = %addr, %upstream, "credential proxy listening");
        Ok(AuthProxy {
            addr,
            upstream: upstream.clone(),
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// Where the proxy listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` (on the upstream origin) as seen through the proxy: same path and query.
    pub fn url_for(&self, url: &str) -> String {
        let rest = url.split_once("://").map_or("", |(_, rest)| rest);
        let path = rest.find(['/', '?', '#']).map_or("/", |i| &rest[i..]);
        debug_assert!(self.upstream.contains(url));
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for AuthProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Where requests go: the portal's `host:port`, and TLS when it is `https://`.
#[derive(Clone)]
struct Upstream {
    authority: String,
    tls: Option<Arc<UpstreamTls>>,
}

fn accept_loop(
    listener: TcpListener,
    stop: &AtomicBool,
    upstream: &Upstream,
    port: u16,
    authorization: &Arc<Vec<u8>>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mut client = match client {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "credential proxy: accept failed");
                // Out of descriptors and the like: don't spin.
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= CONNECTIONS_MAX {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = client.write_all(&status_response(503, "too many connections"));
            continue;
        }
        let active = active.clone();
        let upstream = upstream.clone();
        let authorization = authorization.clone();
        let spawned = thread::Builder::new()
            .name("auth-proxy-conn".into())
            .spawn(move || {
                if let Err(e) = serve(client, &upstream, port, &authorization) {
                    tracing::debug!(error = %e, "credential proxy: connection ended");
                }
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "credential proxy: cannot start a connection thread");
        }
    }
}

/// One client connection: one request head checked and rewritten, then bytes both ways.
fn serve(
    mut client: TcpStream,
    upstream: &Upstream,
    port: u16,
    authorization: &[u8],
) -> io::Result<()> {
    client.set_read_timeout(Some(HEAD_TIMEOUT))?;
    let Some((head, body_start)) = read_head(&mut client)? else {
        return client.write_all(&status_response(400, "bad request head"));
    };
    if let Err(host) = own_host(&head, port) {
        tracing::warn!(
            host = %host,
            "credential proxy: a request for another host refused"
        );
        return client.write_all(&status_response(421, "not this proxy's host"));
    }
    let Some(head) = rewrite_head(&head, authorization) else {
        return client.write_all(&status_response(400, "bad request head"));
    };
    let mut portal = match connect(&upstream.authority) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(upstream = %upstream.authority, error = %e, "credential proxy: the portal is unreachable");
            return client.write_all(&status_response(502, "the portal is unreachable"));
        }
    };
    if let Some(tls) = &upstream.tls {
        return serve_tls(client, portal, tls, &head, body_start);
    }
    portal.write_all(&head)?;
    portal.write_all(&body_start)?;

    client.set_read_timeout(Some(IDLE_TIMEOUT))?;
    portal.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let mut client_in = client.try_clone()?;
    let mut portal_out = portal.try_clone()?;
    let uplink = thread::Builder::new()
        .name("auth-proxy-up".into())
        .spawn(move || {
            let _ = io::copy(&mut client_in, &mut portal_out);
            let _ = portal_out.shutdown(Shutdown::Write);
        })?;
    let copied = io::copy(&mut portal, &mut client);
    // Ends the uplink's read too, if the client is still sending.
    let _ = client.shutdown(Shutdown::Both);
    let _ = portal.shutdown(Shutdown::Both);
    let _ = uplink.join();
    copied.map(drop)
}

/// One request to an `https://` portal: the whole request up, then the answer back until
/// the portal closes (the head asked for `Connection: close`).
fn serve_tls(
    mut client: TcpStream,
    portal: TcpStream,
    tls: &UpstreamTls,
    head: &[u8],
    mut body: Vec<u8>,
) -> io::Result<()> {
    let length = match request_body_length(head) {
        Ok(length) => length,
        Err((code, why)) => return client.write_all(&status_response(code, why)),
    };
    if length > TLS_REQUEST_BODY_MAX {
        return client.write_all(&status_response(413, "request body too large"));
    }
    body.truncate(length);
    let have = body.len();
    body.resize(length, 0);
    client.read_exact(&mut body[have..])?;
    portal.set_read_timeout(Some(IDLE_TIMEOUT))?;
    portal.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut portal = match tls.wrap(portal) {
        Ok(stream) => stream,
        Err(e) => {
            // A certificate the proxy does not trust is said in the log, never waved through.
            tracing::warn!(error = %e, "credential proxy: TLS to the portal failed");
            return client.write_all(&status_response(502, "TLS to the portal failed"));
        }
    };
    portal.write_all(head)?;
    portal.write_all(&body)?;
    portal.flush()?;
    match io::copy(&mut portal, &mut client) {
        Ok(_) => {}
        // A portal that closes without TLS's close_notify has still sent its whole answer
        // (`Connection: close` delimits it).
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e),
    }
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// The body length of a request forwarded to an https portal, from `Content-Length` (no
/// header: no body); a chunked body or an upgrade is refused with the status to answer.
fn request_body_length(head: &[u8]) -> Result<usize, (u16, &'static str)> {
    let mut length = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err((411, "send the body with a Content-Length"));
        }
        if name.eq_ignore_ascii_case(b"upgrade") {
            return Err((501, "no upgrades through the proxy to an https portal"));
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let parsed = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or((400, "bad Content-Length"))?;
            if length.is_some_and(|l| l != parsed) {
                return Err((400, "conflicting Content-Length"));
            }
            length = Some(parsed);
        }
    }
    Ok(length.unwrap_or(0))
}

fn connect(authority: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in authority.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Reads up to the blank line that ends a request head. Returns the head (with its final
/// CRLF CRLF) and whatever body bytes came with it; `None` if the client closed first or
/// the head is too long.
fn read_head(client: &mut TcpStream) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        // Look for the terminator only where it can have appeared.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = find(&buf[from..], b"\r\n\r\n") {
            let end = from + i + 4;
            let rest = buf.split_off(end);
            return Ok(Some((buf, rest)));
        }
        if buf.len() > HEAD_BYTES_MAX {
            return Ok(None);
        }
    }
}

/// The head with its credentials and connection handling replaced: any `Authorization`
/// from the client is dropped and ours added; unless the request upgrades, `Connection:
/// close` replaces the client's connection headers. `None` for a head that isn't HTTP/1.
fn rewrite_head(head: &[u8], authorization: &[u8]) -> Option<Vec<u8>> {
    let text = head.strip_suffix(b"\r\n\r\n")?;
    let mut lines = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next()?;
    if !request_line.ends_with(b" HTTP/1.1") && !request_line.ends_with(b" HTTP/1.0") {
        return None;
    }
    let headers: Vec<&[u8]> = lines.collect();
    let name_is = |line: &[u8], name: &str| {
        line.split(|&b| b == b':')
            .next()
            .is_some_and(|n| n.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
    };
    let upgrades = headers.iter().any(|h| name_is(h, "upgrade"));
    let mut out = Vec::with_capacity(head.len() + authorization.len() + 32);
    out.extend_from_slice(request_line);
    out.extend_from_slice(b"\r\n");
    for h in &headers {
        if !h.contains(&b':') {
            return None;
        }
        let dropped = name_is(h, "authorization")
            || (!upgrades
                && (name_is(h, "connection")
                    || name_is(h, "keep-alive")
                    || name_is(h, "proxy-connection")));
        if !dropped {
            out.extend_from_slice(h);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(authorization);
    if !upgrades {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Some(out)
}

/// Checks that a request head has exactly one `Host` and that it names this proxy:
/// `127.0.0.1:PORT` or `localhost:PORT`. On refusal, the host as given (escaped and
/// cut short, for the log).
fn own_host(head: &[u8], port: u16) -> Result<(), String> {
    let mut hosts = head
        .split(|&b| b == b'\n')
        .skip(1)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter_map(|line| {
            let (name, value) = line.split_at(line.iter().position(|&b| b == b':')?);
            name.trim_ascii()
                .eq_ignore_ascii_case(b"host")
                .then(|| value[1..].trim_ascii())
        });
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return Err("(none, or more than one)".into());
    };
    let ours = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    if ours.iter().any(|o| host.eq_ignore_ascii_case(o.as_bytes())) {
        Ok(())
    } else {
        let shown: String = String::from_utf8_lossy(host).chars().take(100).collect();
        Err(format!("{shown:?}"))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn status_response(code: u16, text: &str) -> Vec<u8> {
    let reason = match code {
        400 => "Bad Request",
        411 => "Length Required",
        413 => "Content Too Large",
        421 => "Misdirected Request",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        _ => "Service Unavailable",
    };
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &[u8] = b"Authorization: Basic a2lvc2s6cHc=\r\n";

    fn rewrite(head: &str) -> Option<String> {
        rewrite_head(head.as_bytes(), AUTH).map(|h| String::from_utf8(h).unwrap())
    }

    #[test]
    fn credentials_replace_the_clients_and_the_connection_closes() {
        let out = rewrite(
            "GET /kiosk HTTP/1.1\r\nHost: 127.0.0.1:5\r\nauthorization: Basic eDp5\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            out,
            "GET /kiosk HTTP/1.1\r\nHost: 127.0.0.1:5\r\nAuthorization: Basic a2lvc2s6cHc=\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn an_upgrade_keeps_its_connection_headers() {
        let out = rewrite(
            "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        )
        .unwrap();
        assert!(out.contains("Connection: Upgrade\r\n"));
        assert!(!out.contains("Connection: close"));
        assert!(out.contains("Authorization: Basic a2lvc2s6cHc=\r\n"));
    }

    #[test]
    fn garbage_is_not_a_request() {
        assert_eq!(rewrite("hello\r\n\r\n"), None);
        assert_eq!(rewrite("GET / HTTP/1.1\r\nno colon here\r\n\r\n"), None);
        assert_eq!(rewrite("GET / HTTP/1.1\r\nHost: h\r\n"), None);
    }

    #[test]
    fn the_proxy_adds_credentials_end_to_end() {
        let portal = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = Origin::of(&format!("http://{}/", portal.local_addr().unwrap())).unwrap();
        let proxy = AuthProxy::start(
            &origin,
            &Credentials {
                login: "kiosk".into(),
                password: "pw".into(),
            },
            None,
        )
        .unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = portal.accept().unwrap();
            let (head, body) = read_head(&mut s).unwrap().unwrap();
            let mut body = body;
            while body.len() < 5 {
                let mut b = [0u8; 16];
                let n = s.read(&mut b).unwrap();
                body.extend_from_slice(&b[..n]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .unwrap();
            (String::from_utf8(head).unwrap(), body)
        });
        let mut c = TcpStream::connect(proxy.addr()).unwrap();
        let host = format!("localhost:{}", proxy.addr().port());
        c.write_all(
            format!("POST /x HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n\r\nhello")
                .as_bytes(),
        )
        .unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        let (head, body) = server.join().unwrap();
        assert!(
            head.contains("Authorization: Basic a2lvc2s6cHc=\r\n"),
            "{head}"
        );
        assert!(head.contains(&format!("Host: {host}\r\n")), "{head}");
        assert_eq!(body, b"hello");
        assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
        assert_eq!(
            proxy.url_for(&format!("{origin}/kiosk?bridge=ws://x/ccnet")),
            format!("http://{}/kiosk?bridge=ws://x/ccnet", proxy.addr())
        );
    }

    /// Requests for any other host are answered 421 by the proxy itself and never reach
    /// the portal; the proxy's own names still work afterwards.
    #[test]
    fn only_requests_for_the_proxys_own_host_are_forwarded() {
        let portal = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = Origin::of(&format!("http://{}/", portal.local_addr().unwrap())).unwrap();
        let proxy = AuthProxy::start(
            &origin,
            &Credentials {
                login: "kiosk".into(),
                password: "pw".into(),
            },
            None,
        )
        .unwrap();
        let port = proxy.addr().port();
        // The portal answers everything and notes what reached it.
        let reached = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        thread::spawn({
            let reached = reached.clone();
            move || {
                for s in portal.incoming() {
                    let mut s = s.unwrap();
                    let (head, _) = read_head(&mut s).unwrap().unwrap();
                    reached
                        .lock()
                        .unwrap()
                        .push(String::from_utf8(head).unwrap());
                    let _ = s.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    );
                }
            }
        });
        let ask = |head: String| {
            let mut c = TcpStream::connect(proxy.addr()).unwrap();
            c.write_all(head.as_bytes()).unwrap();
            let mut answer = String::new();
            c.read_to_string(&mut answer).unwrap();
            answer
        };
        let refused = [
            format!("GET / HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n"),
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", port + 1),
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_string(),
            "GET / HTTP/1.1\r\nX-Host: 127.0.0.1\r\n\r\n".to_string(),
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n\r\n"),
        ];
        for head in refused {
            let answer = ask(head.clone());
            assert!(
                answer.starts_with("HTTP/1.1 421 Misdirected Request\r\n"),
                "{head:?} → {answer}"
            );
        }
        for own in [format!("127.0.0.1:{port}"), format!("LOCALHOST:{port}")] {
            let answer = ask(format!("GET /own HTTP/1.1\r\nHost: {own}\r\n\r\n"));
            assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
        }
        let reached = reached.lock().unwrap().clone();
        assert_eq!(reached.len(), 2, "{reached:#?}");
        assert!(
            reached.iter().all(|h| h.starts_with("GET /own ")),
            "{reached:#?}"
        );
    }

    /// A CA, and a certificate for `localhost` signed by it: (CA PEM, server config).
    fn portal_certificate() -> (String, Arc<rustls::ServerConfig>) {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &Issuer::new(ca_params, &ca_key))
            .unwrap();
        let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key_der)
        .unwrap();
        (ca.pem(), Arc::new(config))
    }

    /// An https portal that answers each connection `hello` and keeps the requests it got.
    fn tls_portal(config: Arc<rustls::ServerConfig>) -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, tcp);
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                // The head, then a 3-byte body.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") || !request.ends_with(b"abc") {
                    match tls.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&request).into_owned());
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        (port, seen)
    }

    fn post_through(proxy: &AuthProxy) -> String {
        let mut c = TcpStream::connect(proxy.addr()).unwrap();
        let head = format!(
            "POST /x HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 3\r\n\r\nabc",
            proxy.addr().port()
        );
        c.write_all(head.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        answer
    }

    /// An https portal is reached over TLS, its certificate checked against --ca-file:
    /// trusted, the request arrives whole with the credentials; not trusted, a 502.
    #[test]
    fn an_https_portal_is_reached_over_tls_only_with_a_trusted_certificate() {
        let (ca_pem, config) = portal_certificate();
        let (port, seen) = tls_portal(config);
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        let origin = Origin::of(&format!("https://localhost:{port}/")).unwrap();
        let credentials = Credentials {
            login: "kiosk".into(),
            password: "pw".into(),
        };

        let proxy = AuthProxy::start(&origin, &credentials, Some(&ca_file)).unwrap();
        let answer = post_through(&proxy);
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
        let request = seen.lock().unwrap().pop().unwrap();
        assert!(
            request.contains("Authorization: Basic a2lvc2s6cHc=\r\n"),
            "{request}"
        );
        assert!(request.ends_with("\r\n\r\nabc"), "{request}");

        // Without the CA, the portal's certificate is not trusted: nothing is forwarded.
        let untrusting = AuthProxy::start(&origin, &credentials, None).unwrap();
        let refused = post_through(&untrusting);
        assert!(refused.starts_with("HTTP/1.1 502"), "{refused}");
    }

    #[test]
    fn https_portals_need_a_certificate_to_trust() {
        let c = Credentials {
            login: "a".into(),
            password: "b".into(),
        };
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        assert!(AuthProxy::start(&Origin::of("https://h/").unwrap(), &c, Some(&empty)).is_err());
    }
}
