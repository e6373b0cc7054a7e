//! HTTPS at every boundary, and the listener's limits: a payment end to end over TLS with
//! a CA the test makes, certificates that are not trusted named in the answers, a
//! slowloris client cut off, and connections beyond the cap that wait instead of
//! starving the others.

use std::path::{Path, PathBuf};
use std::time::Duration;

use portals::demo::pki::{Authority, LOCAL_NAMES};
use portals::role::Role;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{ADMIN_PASSWORD, KIOSK_PASSWORD, TestApp, eventually, now_rfc3339, send};

/// A CA and one server certificate it signed for 127.0.0.1, as files.
struct Pki {
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn pki(name: &str) -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new(name).unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, authority.cert_pem()).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    authority
        .issue("paymesh test server", &LOCAL_NAMES)
        .unwrap()
        .save(&cert, &key)
        .unwrap();
    Pki {
        _dir: dir,
        ca_file,
        cert,
        key,
    }
}

/// `role` serving HTTPS with `server`'s certificate, its clients trusting `trusted`'s CA
/// (or only the system's roots).
async fn spawn_https(role: Role, server: &Pki, trusted: Option<&Path>) -> TestApp {
    let (cert, key) = (server.cert.clone(), server.key.clone());
    let ca_file = trusted.map(Path::to_path_buf);
    TestApp::spawn_with(
        role,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        move |s| {
            s.common.tls_cert = Some(cert);
            s.common.tls_key = Some(key);
            s.common.ca_file = ca_file;
            s.retry_delay_max = Some(Duration::from_millis(200));
            s.provider_timeout = Some(Duration::from_secs(5));
        },
    )
    .await
    .expect("the participant starts with TLS")
}

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// A subscriber and a processing contract at `provider`; the provider signed at
/// `processing` with the endpoint URL the provider issued. (provider id, account)
async fn sign_provider(provider: &TestApp, processing: &TestApp) -> (i64, String) {
    sign_provider_at(provider, processing, None).await
}

/// [`sign_provider`], with processing told another endpoint URL than the one issued.
async fn sign_provider_at(
    provider: &TestApp,
    processing: &TestApp,
    endpoint: Option<String>,
) -> (i64, String) {
    let (status, subscriber) = send(provider, reqwest::Method::POST, "/api/admin/v1/subscribers", ADMIN, Some(json!({
        "full_name": "Иванов Иван", "passport": "4510 123456", "email": "i@example.ru", "services": ["call"]
    })))
    .await;
    assert_eq!(status, 201, "{subscriber}");
    let (status, contract) = send(
        provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        Some(json!({"processing_name": "paymesh processing", "protocol": "osmp"})),
    )
    .await;
    assert_eq!(status, 201, "{contract}");
    let (status, row) = send(processing, reqwest::Method::POST, "/api/admin/v1/providers", ADMIN, Some(json!({
        "name": "Megafon", "service_kind": "mobile",
        "endpoint_url": endpoint.map(Value::from).unwrap_or_else(|| contract["endpoint_url"].clone()),
        "protocol": "osmp", "login": contract["login"], "password": contract["password"],
        "fields": contract["fields"], "min_amount": contract["min_amount"], "max_amount": contract["max_amount"]
    })))
    .await;
    assert_eq!(status, 201, "{row}");
    (
        row["provider_id"].as_i64().unwrap(),
        subscriber["account"].as_str().unwrap().to_owned(),
    )
}

/// An agent at `processing` with a deposit: its contract (login, password, api_url).
async fn sign_agent(processing: &TestApp) -> Value {
    let (status, agent) = send(
        processing,
        reqwest::Method::POST,
        "/api/admin/v1/agents",
        ADMIN,
        Some(json!({
            "name": "Терминал №1", "fee": {"percent_bp": 0, "fixed": 0, "min": 0, "max": null}
        })),
    )
    .await;
    assert_eq!(status, 201, "{agent}");
    let (status, topup) = send(
        processing,
        reqwest::Method::POST,
        &format!("/api/admin/v1/agents/{}/topups", agent["agent_id"]),
        ADMIN,
        Some(json!({"amount": 1_000_000, "reference": "PP-1"})),
    )
    .await;
    assert!(status < 300, "{topup}");
    agent
}

fn agent_auth(agent: &Value) -> (&str, &str) {
    (
        agent["login"].as_str().unwrap(),
        agent["password"].as_str().unwrap(),
    )
}

fn payment(provider_id: i64, account: &str, agent_txn_id: &str) -> Value {
    json!({
        "agent_txn_id": agent_txn_id, "provider_id": provider_id, "account": account,
        "cash": 10_000, "agent_fee": 0, "amount": 10_000, "accepted_at": now_rfc3339()
    })
}

#[tokio::test]
async fn a_payment_goes_end_to_end_over_https() {
    let pki = pki("paymesh test CA");
    let provider = spawn_https(Role::Provider, &pki, Some(&pki.ca_file)).await;
    let processing = spawn_https(Role::Processing, &pki, Some(&pki.ca_file)).await;
    let agent = spawn_https(Role::Agent, &pki, Some(&pki.ca_file)).await;
    assert!(provider.base_url.starts_with("https://"));

    let (provider_id, account) = sign_provider(&provider, &processing).await;
    let contract = sign_agent(&processing).await;
    // Participants serving HTTPS hand out https:// URLs.
    assert_eq!(
        contract["api_url"],
        format!("https://{}/api/agent/v1", processing.addr)
    );

    // agent → processing over HTTPS: the contract is checked against processing's balance.
    let (status, saved) = send(
        &agent,
        reqwest::Method::PUT,
        "/api/admin/v1/contract",
        ADMIN,
        Some(json!({
            "processing_url": contract["api_url"], "contract_number": contract["contract_number"],
            "login": contract["login"], "password": contract["password"]
        })),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    // kiosk → agent → processing → provider (OSMP over HTTPS): the account exists.
    let (status, check) = eventually("the agent's catalog", || async {
        let (status, check) = send(
            &agent,
            reqwest::Method::POST,
            "/api/kiosk/v1/checks",
            ("kiosk", KIOSK_PASSWORD),
            Some(json!({"provider_id": provider_id, "account": account})),
        )
        .await;
        if status == 200 {
            Ok((status, check))
        } else {
            Err(format!("{status} {check}"))
        }
    })
    .await;
    assert_eq!(status, 200);
    assert_eq!(check["result"], 0, "{check}");

    // A payment: processing → provider over HTTPS, settled, the subscriber credited.
    let (status, paid) = send(
        &processing,
        reqwest::Method::POST,
        "/api/agent/v1/payments",
        agent_auth(&contract),
        Some(payment(provider_id, &account, "T-1")),
    )
    .await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["status"], "completed", "{paid}");
    let (_, subscriber) = send(
        &provider,
        reqwest::Method::GET,
        &format!("/api/admin/v1/subscribers/{account}"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(
        subscriber["balance"]["amount"], 10_000,
        "the subscriber was credited: {subscriber}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_named_in_the_check_and_the_pending_payment() {
    let trusted = pki("paymesh test CA");
    let rogue = pki("somebody else's CA");
    // The provider's certificate comes from a CA processing does not trust.
    let provider = spawn_https(Role::Provider, &rogue, Some(&rogue.ca_file)).await;
    let processing = spawn_https(Role::Processing, &trusted, Some(&trusted.ca_file)).await;
    let (provider_id, account) = sign_provider(&provider, &processing).await;
    let contract = sign_agent(&processing).await;

    let (status, check) = send(
        &processing,
        reqwest::Method::POST,
        "/api/agent/v1/checks",
        agent_auth(&contract),
        Some(json!({"provider_id": provider_id, "account": account})),
    )
    .await;
    assert_eq!(status, 502, "{check}");
    assert_eq!(check["error"]["code"], "provider_unavailable");
    let message = check["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("certificate not trusted: UnknownIssuer"),
        "{message}"
    );

    let (status, paid) = send(
        &processing,
        reqwest::Method::POST,
        "/api/agent/v1/payments",
        agent_auth(&contract),
        Some(payment(provider_id, &account, "T-1")),
    )
    .await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["status"], "pending", "{paid}");
    assert!(
        paid["message"]
            .as_str()
            .unwrap()
            .contains("certificate not trusted: UnknownIssuer"),
        "{paid}"
    );
    let (_, subscriber) = send(
        &provider,
        reqwest::Method::GET,
        &format!("/api/admin/v1/subscribers/{account}"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(
        subscriber["balance"]["amount"], 0,
        "nothing credited: {subscriber}"
    );

    // The agent's contract check against a processing it does not trust says so too.
    let agent = TestApp::spawn(Role::Agent).await;
    let (status, refused) = send(
        &agent,
        reqwest::Method::PUT,
        "/api/admin/v1/contract",
        ADMIN,
        Some(json!({
            "processing_url": contract["api_url"], "contract_number": contract["contract_number"],
            "login": contract["login"], "password": contract["password"]
        })),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let why = refused["error"]["fields"]["processing_url"]
        .as_str()
        .unwrap();
    assert!(
        why.contains("certificate not trusted: UnknownIssuer"),
        "{why}"
    );
}

/// `role` over plain HTTP with a short header-read timeout and `max_connections`.
async fn spawn_limited(header_read_timeout_ms: u64, max_connections: usize) -> TestApp {
    TestApp::spawn_with(
        Role::Provider,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        move |s| {
            s.common.header_read_timeout_ms = header_read_timeout_ms;
            s.common.max_connections = max_connections;
        },
    )
    .await
    .unwrap()
}

/// Reads until the server closes the connection; `Err` if it is still open after a
/// generous bound (a liveness guard for a failing test, not a timing assertion).
async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> Result<Vec<u8>, String> {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    match read {
        Ok(()) => Ok(seen),
        Err(_) => Err("the server kept the connection open".into()),
    }
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_after_the_header_timeout() {
    let app = spawn_limited(500, 64).await;
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let answered = closed_by_server(&mut slow).await.unwrap();
    let answered = String::from_utf8_lossy(&answered);
    assert!(
        !answered.contains("200 OK"),
        "half a request is never served: {answered}"
    );

    // Over TLS the same: a connection that never starts its handshake is closed.
    let pki = pki("paymesh test CA");
    let (cert, key) = (pki.cert.clone(), pki.key.clone());
    let tls = TestApp::spawn_with(
        Role::Provider,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        move |s| {
            s.common.tls_cert = Some(cert);
            s.common.tls_key = Some(key);
            s.common.header_read_timeout_ms = 500;
        },
    )
    .await
    .unwrap();
    let mut silent = tokio::net::TcpStream::connect(tls.addr).await.unwrap();
    closed_by_server(&mut silent).await.unwrap();
    // A garbage handshake is refused without harm: the server still answers.
    let mut garbage = tokio::net::TcpStream::connect(tls.addr).await.unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    closed_by_server(&mut garbage).await.unwrap();
    let client = shared::outbound::Trust::load(Some(&pki.ca_file))
        .unwrap()
        .client(Duration::from_secs(30))
        .unwrap();
    let health = client.get(tls.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn connections_over_the_cap_wait_and_do_not_starve_the_others() {
    const CAP: usize = 3;
    let app = spawn_limited(1_000, CAP).await;
    // Ten clients that never finish their headers, far more than the cap.
    let mut slow = Vec::new();
    for _ in 0..10 {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    // A well-behaved client behind them is still served: the slow ones are cut off one
    // by one, each freeing its place for the next in the backlog.
    let client = crate::helpers::plain_client();
    let health = client
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("served in the end");
    assert_eq!(health.status(), 200);
    assert!(
        app.connections.peak() <= CAP,
        "never more than {CAP} connections at once, saw {}",
        app.connections.peak()
    );
    assert!(
        app.connections.accepted() >= 11,
        "all were taken in turn: {}",
        app.connections.accepted()
    );
    for mut stream in slow {
        closed_by_server(&mut stream).await.unwrap();
    }
}

/// A provider endpoint whose OSMP answer is valid but 2 MiB long, sent in chunks without a
/// length: the cap must be checked while the body arrives.
async fn oversized_osmp_endpoint() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route(
        "/osmp",
        axum::routing::get(|| async {
            let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><response><osmp_txn_id>1</osmp_txn_id><result>0</result><comment>".to_owned();
            let mut chunks = vec![head];
            chunks.extend((0..32).map(|_| "x".repeat(64 * 1024)));
            chunks.push("</comment></response>".to_owned());
            let stream = futures::stream::iter(
                chunks
                    .into_iter()
                    .map(|c| Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(c))),
            );
            axum::body::Body::from_stream(stream)
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

#[tokio::test]
async fn an_answer_over_the_size_cap_is_no_answer() {
    let provider = TestApp::spawn(Role::Provider).await;
    let processing = TestApp::spawn(Role::Processing).await;
    let endpoint = oversized_osmp_endpoint().await;
    let (provider_id, account) = sign_provider_at(
        &provider,
        &processing,
        Some(format!("http://{endpoint}/osmp")),
    )
    .await;
    let contract = sign_agent(&processing).await;
    let (status, check) = send(
        &processing,
        reqwest::Method::POST,
        "/api/agent/v1/checks",
        agent_auth(&contract),
        Some(json!({"provider_id": provider_id, "account": account})),
    )
    .await;
    // The answer may be 2 MiB: say only its start when this fails.
    let text = check.to_string();
    let shown = &text[..text.len().min(300)];
    assert_eq!(status, 502, "{shown}");
    let message = check["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("larger than 1048576 bytes"), "{shown}");
}
