//! Reports: the workbooks are opened with calamine and their cells held against the
//! databases; the subscriber's report is mailed to a real SMTP server (Python's aiosmtpd,
//! started by the test), first down — the failure is recorded and retried — then up, and
//! the attachment that arrives is the very workbook the API serves.

use portals::server::db;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use calamine::{Data, Reader, Xlsx};
use portals::role::Role;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp, eventually, send};
use crate::processing::Network;

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

// ---------------------------------------------------------------- workbook reading

/// A sheet's cells, row by row.
pub(crate) fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an xlsx file");
    let range = book
        .worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"));
    range.rows().map(|r| r.to_vec()).collect()
}

pub(crate) fn number(cell: &Data) -> f64 {
    match cell {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

pub(crate) fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// A money cell back in kopecks (the sheet holds roubles with two decimals).
pub(crate) fn kopecks(cell: &Data) -> i64 {
    (number(cell) * 100.0).round() as i64
}

/// The row whose first cell is `label`.
pub(crate) fn row<'a>(rows: &'a [Vec<Data>], label: &str) -> &'a [Data] {
    rows.iter()
        .find(|r| r.first().map(text).as_deref() == Some(label))
        .unwrap_or_else(|| panic!("no row {label:?}"))
}

pub(crate) async fn download(app: &TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Today on the participants' wall clock (the default zone, Europe/Moscow): the reports'
/// days are local, so between 21:00 and midnight UTC "today" is already tomorrow's date.
fn today() -> String {
    portals::server::local_time::date_of(
        &shared::zone::Zone::default(),
        time::OffsetDateTime::now_utc(),
    )
    .to_string()
}

// ---------------------------------------------------------------- a provider to report on

/// A provider with one subscriber who was paid for over OSMP and used services.
pub(crate) struct Subscriber {
    pub(crate) app: TestApp,
    pub(crate) account: String,
    password: String,
}

impl Subscriber {
    pub(crate) async fn new(app: TestApp) -> Subscriber {
        let (status, contract) = send(
            &app,
            reqwest::Method::POST,
            "/api/admin/v1/subscribers",
            ADMIN,
            Some(json!({
                "full_name": "Петрова Анна Сергеевна", "passport": "4510 654321",
                "email": "anna@example.ru", "services": ["call", "internet", "sms"]
            })),
        )
        .await;
        assert_eq!(status, 201, "{contract}");
        let (status, processing) = send(
            &app,
            reqwest::Method::POST,
            "/api/admin/v1/processing-contracts",
            ADMIN,
            Some(json!({"processing_name": "Cyberplat", "protocol": "osmp"})),
        )
        .await;
        assert_eq!(status, 201, "{processing}");
        let subscriber = Subscriber {
            account: contract["account"].as_str().unwrap().to_owned(),
            password: contract["password"].as_str().unwrap().to_owned(),
            app,
        };
        for (txn, sum) in [("7001", "150.00"), ("7002", "49.99")] {
            let answer = subscriber
                .app
                .client
                .get(subscriber.app.url(&format!(
                    "/osmp?command=pay&txn_id={txn}&account={}&sum={sum}&txn_date=20261126101500",
                    subscriber.account
                )))
                .basic_auth(
                    processing["login"].as_str().unwrap(),
                    processing["password"].as_str(),
                )
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(answer.contains("<result>0</result>"), "{answer}");
        }
        for (service, quantity) in [("call", 3), ("sms", 2), ("internet", 100), ("call", 7)] {
            let response = subscriber
                .app
                .client
                .post(subscriber.app.url("/api/usage/v1/usage"))
                .basic_auth(&subscriber.account, Some(&subscriber.password))
                .json(&json!({"service": service, "quantity": quantity}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
        }
        subscriber
    }

    fn report_path(&self) -> String {
        let day = today();
        format!(
            "/api/admin/v1/subscribers/{}/report.xlsx?from={day}&to={day}",
            self.account
        )
    }

    /// Asks the provider to e-mail the subscriber's report for one day.
    async fn mail_report(&self, day: &str) -> (u16, serde_json::Value) {
        send(
            &self.app,
            reqwest::Method::POST,
            &format!("/api/admin/v1/subscribers/{}/report", self.account),
            ADMIN,
            Some(json!({"from": day, "to": day})),
        )
        .await
    }

    async fn db_sum(&self, kind: &str) -> i64 {
        let (sum,): (i64,) = db::query_as(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM transactions WHERE kind = $1",
        )
        .bind(kind)
        .fetch_one(self.app.db.as_ref().unwrap())
        .await
        .unwrap();
        sum
    }
}

#[tokio::test]
async fn the_subscriber_report_workbook_matches_the_database() {
    let s = Subscriber::new(TestApp::spawn(Role::Provider).await).await;
    let (status, kind, bytes) = download(&s.app, &s.report_path()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(kind, XLSX);

    let paid = s.db_sum("payment").await;
    let charged = -s.db_sum("usage").await;
    let (balance,): (i64,) = db::query_as("SELECT balance FROM subscribers WHERE account = $1")
        .bind(&s.account)
        .fetch_one(s.app.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (paid, charged),
        (19_999, 3 * 250 + 2 * 200 + 100 * 30 + 7 * 250)
    );

    let summary = sheet(&bytes, "Сводка");
    assert_eq!(kopecks(&row(&summary, "Баланс на начало периода, ₽")[1]), 0);
    assert_eq!(kopecks(&row(&summary, "Оплачено, ₽")[1]), paid);
    assert_eq!(kopecks(&row(&summary, "Списано за услуги, ₽")[1]), charged);
    assert_eq!(
        kopecks(&row(&summary, "Баланс на конец периода, ₽")[1]),
        balance
    );
    assert_eq!(text(&row(&summary, "Лицевой счёт")[1]), s.account);
    let calls = row(&summary, "Звонки");
    assert_eq!((number(&calls[1]), kopecks(&calls[3])), (10.0, 2_500));
    assert_eq!(kopecks(&row(&summary, "Итого")[3]), charged);

    let movements = sheet(&bytes, "Операции");
    assert_eq!(movements.len(), 1 + 6, "a header and six movements");
    let sum: i64 = movements[1..].iter().map(|r| kopecks(&r[5])).sum();
    assert_eq!(sum, paid - charged);
    assert_eq!(kopecks(&movements[6][6]), balance, "the last balance-after");
    let days = sheet(&bytes, "По дням");
    assert_eq!(days.len(), 2);
    assert_eq!(kopecks(&days[1][1]), charged);

    // The same report twice is the same bytes (no build time inside).
    assert_eq!(download(&s.app, &s.report_path()).await.2, bytes);

    // A period before any movement: the balances are what they were then.
    let (_, _, empty) = download(
        &s.app,
        &format!(
            "/api/admin/v1/subscribers/{}/report.xlsx?from=2020-01-01&to=2020-01-31",
            s.account
        ),
    )
    .await;
    let summary = sheet(&empty, "Сводка");
    assert_eq!(kopecks(&row(&summary, "Баланс на конец периода, ₽")[1]), 0);
    assert_eq!(sheet(&empty, "Операции").len(), 1);
    assert_eq!(sheet(&empty, "По дням").len(), 32);

    for (path, expected) in [
        (
            format!(
                "/api/admin/v1/subscribers/{}/report.xlsx?from=2026-11-01",
                s.account
            ),
            422,
        ),
        (
            format!(
                "/api/admin/v1/subscribers/{}/report.xlsx?from=2026-11-02&to=2026-11-01",
                s.account
            ),
            422,
        ),
        (
            "/api/admin/v1/subscribers/9000000000/report.xlsx?from=2026-11-01&to=2026-11-02"
                .to_owned(),
            404,
        ),
    ] {
        let (status, _, body) = download(&s.app, &path).await;
        assert_eq!(
            status,
            expected,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // Without a mail server the e-mail is refused at once rather than queued forever.
    let day = today();
    let (status, refusal) = s.mail_report(&day).await;
    assert_eq!(status, 422, "{refusal}");
    assert!(refusal["error"]["fields"]["smtp_url"].is_string());
}

// ---------------------------------------------------------------- a real SMTP server

/// The Python that has aiosmtpd (Debian's package installs it for /usr/bin/python3).
fn python() -> &'static str {
    for candidate in ["/usr/bin/python3", "python3"] {
        let works = Command::new(candidate)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            return candidate;
        }
    }
    panic!("aiosmtpd is missing: run scripts/install-deps.sh --test (apt python3-aiosmtpd)");
}

/// `python3 -m aiosmtpd` writing every message into a maildir; killed on drop.
struct SmtpServer {
    child: Child,
    maildir: PathBuf,
}

impl SmtpServer {
    async fn start(port: u16, maildir: &Path) -> SmtpServer {
        Self::start_with_tls(port, maildir, None).await
    }

    /// With `tls` (certificate and key files) the server demands STARTTLS before mail.
    async fn start_with_tls(port: u16, maildir: &Path, tls: Option<(&Path, &Path)>) -> SmtpServer {
        // The Mailbox handler writes into an existing maildir.
        for part in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(part)).unwrap();
        }
        let mut command = Command::new(python());
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        if let Some((cert, key)) = tls {
            command.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
        }
        let child = command
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd never listened on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        SmtpServer {
            child,
            maildir: maildir.to_owned(),
        }
    }

    /// The messages delivered so far, parsed by Python's `email` package: subject, to,
    /// text body and attachments (name, base64).
    fn messages(&self) -> Vec<Value> {
        let script = r#"
import email, json, os, sys
from email import policy
out = []
new = os.path.join(sys.argv[1], "new")
for name in sorted(os.listdir(new)) if os.path.isdir(new) else []:
    with open(os.path.join(new, name), "rb") as f:
        msg = email.message_from_binary_file(f, policy=policy.default)
    import base64
    out.append({
        "subject": str(msg["subject"]), "to": str(msg["to"]), "from": str(msg["from"]),
        "body": msg.get_body(preferencelist=("plain",)).get_content(),
        "attachments": [{"name": p.get_filename(), "type": p.get_content_type(),
                         "base64": base64.b64encode(p.get_payload(decode=True)).decode()}
                        for p in msg.iter_attachments()],
    })
print(json.dumps(out))
"#;
        let output = Command::new(python())
            .args(["-c", script])
            .arg(&self.maildir)
            .output()
            .expect("python runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON from the parser")
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn mail(app: &TestApp, id: i64) -> Value {
    let (status, mail) = send(
        app,
        reqwest::Method::GET,
        &format!("/api/admin/v1/mail/{id}"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{mail}");
    mail
}

async fn wait_mail(app: &TestApp, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(&format!("the e-mail to get {what}"), || async {
        let m = mail(app, id).await;
        if done(&m) { Ok(m) } else { Err(m.to_string()) }
    })
    .await
}

#[tokio::test]
async fn a_report_mail_that_failed_is_retried_and_arrives_with_the_workbook_intact() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(Role::Provider, dir, Some(ADMIN_PASSWORD), |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.mail_from = Some("Megafon <reports@megafon.example>".into());
        s.mail_retry_delay_max = Some(Duration::from_millis(500));
        s.common.name = Some("Megafon".into());
    })
    .await
    .expect("provider starts");
    let s = Subscriber::new(app).await;
    let day = today();

    // The mail server is down: the letter is queued, the failure recorded, not lost.
    let (status, queued) = s.mail_report(&day).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["recipient"], "anna@example.ru");
    let id = queued["mail_id"].as_i64().unwrap();
    let failed = wait_mail(&s.app, id, "a failed attempt", |m| {
        m["attempts"].as_i64().unwrap_or(0) >= 1
    })
    .await;
    assert_eq!(failed["status"], "queued", "{failed}");
    assert!(
        failed["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{failed}"
    );
    let (_, outbox) = send(
        &s.app,
        reqwest::Method::GET,
        "/api/admin/v1/mail",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(outbox[0]["mail_id"], id);

    // The server comes up: the background retry delivers the letter without being asked.
    let maildir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(port, maildir.path()).await;
    let sent = wait_mail(&s.app, id, "sent", |m| m["status"] == "sent").await;
    assert!(sent["attempts"].as_i64().unwrap() >= 2, "{sent}");
    assert!(sent["sent_at"].is_string());

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert!(message["to"].as_str().unwrap().contains("anna@example.ru"));
    assert!(
        message["from"]
            .as_str()
            .unwrap()
            .contains("reports@megafon.example")
    );
    assert!(
        message["subject"].as_str().unwrap().contains(&s.account),
        "{message}"
    );
    let body = message["body"].as_str().unwrap();
    assert!(
        body.contains("Здравствуйте, Петрова Анна Сергеевна!"),
        "{body}"
    );
    assert!(body.contains("Megafon"), "{body}");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["type"], XLSX);
    let arrived = base64::engine::general_purpose::STANDARD
        .decode(attachment["base64"].as_str().unwrap())
        .unwrap();
    let (_, _, downloaded) = download(&s.app, &s.report_path()).await;
    assert!(
        arrived == downloaded,
        "the mailed workbook is the one the API serves"
    );
    assert_eq!(
        kopecks(&row(&sheet(&arrived, "Сводка"), "Оплачено, ₽")[1]),
        s.db_sum("payment").await
    );

    // A sent letter is not sent again on request.
    let (status, _) = send(
        &s.app,
        reqwest::Method::POST,
        &format!("/api/admin/v1/mail/{id}/retry"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 422);
}

/// A private CA and a mail server certificate it signed (for 127.0.0.1), made with
/// openssl: (CA certificate, server certificate, server key).
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=paymesh test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "mail.key",
        "-out",
        "mail.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("mail.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "mail.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "mail.pem",
        "-days",
        "2",
        "-extfile",
        "mail.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("mail.pem"),
        dir.join("mail.key"),
    )
}

#[tokio::test]
async fn report_mail_goes_over_starttls_to_a_relay_signed_by_a_private_ca() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(certs.path());
    let maildir = tempfile::tempdir().unwrap();
    let port = free_port();
    let smtp = SmtpServer::start_with_tls(port, maildir.path(), Some((&cert, &key))).await;
    let app = TestApp::spawn_with(
        Role::Provider,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        |s| {
            s.smtp_url = Some(format!("smtp://127.0.0.1:{port}?tls=starttls"));
            s.smtp_ca = Some(ca.clone());
            s.mail_retry_delay_max = Some(Duration::from_millis(500));
        },
    )
    .await
    .expect("provider starts");
    let s = Subscriber::new(app).await;
    let (status, queued) = s.mail_report(&today()).await;
    assert_eq!(status, 202, "{queued}");
    let id = queued["mail_id"].as_i64().unwrap();
    wait_mail(&s.app, id, "sent over TLS", |m| m["status"] == "sent").await;
    assert_eq!(smtp.messages().len(), 1);

    // Without the private CA the relay's certificate is not trusted: nothing is sent in
    // clear, the failure is recorded for the operator.
    let other = TestApp::spawn_with(
        Role::Provider,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        |s| {
            s.smtp_url = Some(format!("smtp://127.0.0.1:{port}?tls=starttls"));
            s.mail_retry_delay_max = Some(Duration::from_millis(500));
        },
    )
    .await
    .expect("provider starts");
    let s = Subscriber::new(other).await;
    let (_, queued) = s.mail_report(&today()).await;
    let id = queued["mail_id"].as_i64().unwrap();
    let failed = wait_mail(&s.app, id, "a refused attempt", |m| {
        m["attempts"].as_i64().unwrap_or(0) >= 1
    })
    .await;
    assert_ne!(failed["status"], "sent", "{failed}");
    assert!(
        failed["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{failed}"
    );
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn a_wrong_smtp_ca_file_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-a-cert.pem");
    std::fs::write(&bad, "hello").unwrap();
    let outcome = TestApp::spawn_with(
        Role::Provider,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        |s| {
            s.smtp_url = Some("smtp://127.0.0.1:2525?tls=starttls".into());
            s.smtp_ca = Some(bad.clone());
        },
    )
    .await;
    let error = outcome.err().expect("refused to start").to_string();
    assert!(error.contains("--smtp-ca"), "{error}");
}

// ---------------------------------------------------------------- processing

/// Payments of three outcomes on 2026-11-26: completed, rejected (no funds), and more.
async fn network_with_payments() -> Network {
    let n = Network::start().await;
    n.top_up(100_000, "PP-R").await;
    for (id, amount) in [("R-1", 10_045), ("R-2", 20_000), ("R-3", 5_000)] {
        assert_eq!(n.pay(id, amount).await.1["status"], "completed");
    }
    let (_, rejected) = n.pay("R-4", 90_000).await;
    assert_eq!(rejected["status"], "rejected");
    n
}

async fn processing_sums(n: &Network, status: &str) -> (i64, i64, i64) {
    db::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT), CAST(COALESCE(SUM(processing_fee), 0) AS BIGINT) FROM payments WHERE status = $1",
    )
    .bind(status)
    .fetch_one(n.processing.db.as_ref().unwrap())
    .await
    .unwrap()
}

#[tokio::test]
async fn the_processing_summary_workbook_matches_the_database() {
    let n = network_with_payments().await;
    let (count, amount, fee) = processing_sums(&n, "completed").await;
    assert_eq!(count, 3);
    let (status, kind, bytes) = download(
        &n.processing,
        "/api/admin/v1/reports/summary.xlsx?from=2026-11-25&to=2026-11-27",
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(kind, XLSX);
    let summary = sheet(&bytes, "Сводка");
    assert_eq!(number(&row(&summary, "Проведено платежей")[1]), 3.0);
    assert_eq!(number(&row(&summary, "Отклонено (нет средств)")[1]), 1.0);
    assert_eq!(kopecks(&row(&summary, "Сумма провайдерам, ₽")[1]), amount);
    assert_eq!(kopecks(&row(&summary, "Комиссия процессинга, ₽")[1]), fee);
    assert_eq!(text(&row(&summary, "Провайдер")[1]), "все");

    let days = sheet(&bytes, "По дням");
    assert_eq!(days.len(), 1 + 3 + 1, "header, three days, total");
    // Columns: day, completed, pending, failed, rejected, cash, agent fee, amount, fee.
    let busy = &days[2];
    assert_eq!((number(&busy[1]), number(&busy[4])), (3.0, 1.0));
    assert_eq!((kopecks(&busy[7]), kopecks(&busy[8])), (amount, fee));
    assert_eq!(kopecks(&days[1][7]), 0, "a quiet day is zero");
    let providers = sheet(&bytes, "По провайдерам");
    assert_eq!(number(&providers[1][0]), n.provider_id as f64);
    assert_eq!(text(&providers[1][1]), "Megafon");
    assert_eq!(kopecks(&providers[1][8]), amount);
    let agents = sheet(&bytes, "По агентам");
    assert_eq!(number(&agents[1][0]), n.agent_id as f64);
    assert_eq!(kopecks(&agents[1][9]), fee);
    assert_eq!(kopecks(&row(&agents, "Итого")[9]), fee);

    // One provider's scope; another period is empty.
    let (_, _, scoped) = download(
        &n.processing,
        &format!(
            "/api/admin/v1/reports/summary.xlsx?from=2026-11-26&to=2026-11-26&provider_id={}",
            n.provider_id
        ),
    )
    .await;
    let summary = sheet(&scoped, "Сводка");
    assert_eq!(
        text(&row(&summary, "Провайдер")[1]),
        format!("№{} Megafon", n.provider_id)
    );
    assert_eq!(kopecks(&row(&summary, "Сумма провайдерам, ₽")[1]), amount);
    let (_, _, other) = download(
        &n.processing,
        "/api/admin/v1/reports/summary.xlsx?from=2026-10-01&to=2026-10-31",
    )
    .await;
    assert_eq!(
        number(&row(&sheet(&other, "Сводка"), "Проведено платежей")[1]),
        0.0
    );

    for (path, expected) in [
        ("/api/admin/v1/reports/summary.xlsx?from=2026-11-26", 422),
        (
            "/api/admin/v1/reports/summary.xlsx?from=2026-11-26&to=2026-11-26&agent_id=x",
            422,
        ),
        (
            "/api/admin/v1/reports/summary.xlsx?from=2026-11-26&to=2026-11-26&agent_id=999",
            404,
        ),
        (
            "/api/admin/v1/reports/transactions.xlsx?from=2026-11-27&to=2026-11-26",
            422,
        ),
    ] {
        assert_eq!(download(&n.processing, path).await.0, expected, "{path}");
    }
}

/// id, agent_txn_id, prv_txn, account, amount, processing_fee, status.
type DbPayment = (i64, String, Option<String>, String, i64, i64, String);

#[tokio::test]
async fn the_processing_transactions_workbook_lists_every_payment() {
    let n = network_with_payments().await;
    let (count, amount, fee) = processing_sums(&n, "completed").await;
    let (status, kind, bytes) = download(
        &n.processing,
        &format!(
            "/api/admin/v1/reports/transactions.xlsx?from=2026-11-26&to=2026-11-26&agent_id={}",
            n.agent_id
        ),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(kind, XLSX);
    let rows = sheet(&bytes, "Платежи");
    assert_eq!(
        rows.len(),
        1 + 4 + 2,
        "header, four payments, total, the zone's note"
    );
    let db: Vec<DbPayment> = db::query_as(
        "SELECT id, agent_txn_id, prv_txn, account, amount, processing_fee, status FROM payments ORDER BY accepted_at, id",
    )
    .fetch_all(n.processing.db.as_ref().unwrap())
    .await
    .unwrap();
    for (line, (id, agent_txn_id, prv_txn, account, amount, fee, status)) in
        rows[1..5].iter().zip(&db)
    {
        assert_eq!(number(&line[0]), *id as f64);
        assert_eq!(text(&line[1]), *agent_txn_id);
        assert_eq!(text(&line[2]), prv_txn.clone().unwrap_or_default());
        assert_eq!(text(&line[6]), "Megafon");
        assert_eq!(text(&line[7]), *account);
        assert_eq!((kopecks(&line[10]), kopecks(&line[11])), (*amount, *fee));
        let word = if status == "completed" {
            "проведён"
        } else {
            "отклонён"
        };
        assert_eq!(text(&line[12]), word);
        assert!(matches!(line[14], Data::DateTime(_)), "{:?}", line[14]);
    }
    let total = row(&rows, "Итого проведено");
    assert_eq!(number(&total[1]), count as f64);
    assert_eq!((kopecks(&total[10]), kopecks(&total[11])), (amount, fee));
    let sum: i64 = rows[1..5]
        .iter()
        .filter(|r| text(&r[12]) == "проведён")
        .map(|r| kopecks(&r[10]))
        .sum();
    assert_eq!(sum, amount);

    let (_, _, none) = download(
        &n.processing,
        "/api/admin/v1/reports/transactions.xlsx?from=2026-11-27&to=2026-11-30",
    )
    .await;
    let rows = sheet(&none, "Платежи");
    assert_eq!(rows.len(), 3, "a header, a zero total and the zone's note");
    assert_eq!(
        text(&rows[2][0]),
        "дни и время — по часовому поясу Europe/Moscow"
    );
}

/// A portal page as the operator's browser gets it (server-rendered HTML).
async fn page(app: &TestApp, path: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_registry_panel_and_report_pages_show_what_the_api_finds() {
    let n = network_with_payments().await;
    let path = format!("/registry?provider_id={}&date=2026-11-26", n.provider_id);
    let clean = page(&n.processing, &path).await;
    assert!(clean.contains("registry-verdict"), "{clean}");
    assert!(!clean.contains("id=\"discrepancies\""), "{clean}");

    // Plant a discrepancy at the provider: one credit's sum changed behind everyone's back.
    let (id,): (i64,) = db::query_as("SELECT id FROM payments WHERE agent_txn_id = 'R-2'")
        .fetch_one(n.processing.db.as_ref().unwrap())
        .await
        .unwrap();
    db::query("UPDATE payments SET amount = 19000 WHERE txn_id = $1")
        .bind(id.to_string())
        .execute(n.provider.db.as_ref().unwrap())
        .await
        .unwrap();
    let found = page(&n.processing, &path).await;
    assert!(found.contains("id=\"discrepancies\""), "{found}");
    assert!(found.contains(&format!("<code>{id}</code>")), "{found}");

    let reports = page(
        &n.processing,
        &format!(
            "/reports?from=2026-11-26&to=2026-11-26&provider_id={}",
            n.provider_id
        ),
    )
    .await;
    assert!(
        reports.contains(&format!(
            "/api/admin/v1/reports/transactions.xlsx?from=2026-11-26&amp;to=2026-11-26&amp;provider_id={}",
            n.provider_id
        )),
        "{reports}"
    );
    let provider = page(
        &n.provider,
        &format!(
            "/reports?account={}&from=2026-11-26&to=2026-11-26",
            n.account
        ),
    )
    .await;
    assert!(
        provider.contains(&format!(
            "/api/admin/v1/subscribers/{}/report.xlsx",
            n.account
        )),
        "{provider}"
    );
    assert!(provider.contains("id=\"outbox-title\""), "{provider}");
}
